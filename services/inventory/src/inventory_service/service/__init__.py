"""Business rules of the inventory, one module per concern.

- `access`: who sees and changes what (tenancy from the token);
- `reference`: municipalities and institutions;
- `catalogue`: the procurement catalogue;
- `devices`: registering, reading, searching and editing devices;
- `export`: a device search as a streamed CSV;
- `history`: each device's change log;
- `states`: the status machine (legal moves, each recorded and published);
- `lifecycle`: what other services' events do to a device (holds by reservations, loans,
  returns, repairs, confirmed losses);
- `imports`: bulk imports of deliveries (`importer` reads the CSV's rows).
"""
