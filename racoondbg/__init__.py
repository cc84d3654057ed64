"""racoondbg: tells an administrator why a racoon (ipsec-tools / KAME) IPsec setup does not work."""

__version__ = "0.1.0"
