"""Bytes in, bytes out: files made from plain values (report downloads), no database."""
