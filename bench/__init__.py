"""Load and scale measurements for failforward (not tests): `make bench` or `python -m bench --help`."""
