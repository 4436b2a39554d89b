"""The home page: what to do next."""
