"""scrip: vouchers, gift cards and gift certificates for retail chains."""

__version__ = "0.1.0"
