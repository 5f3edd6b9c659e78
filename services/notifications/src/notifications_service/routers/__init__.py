"""The notifications API's endpoints, one module per area, included by `router.py`."""
