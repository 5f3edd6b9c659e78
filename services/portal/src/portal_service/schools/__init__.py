"""Schools: the school administrator approves, hands over and takes back."""
