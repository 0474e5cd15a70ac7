"""Pure translation between the vendors' wire formats and the canonical model.

No I/O, no logging, no settings, and no imports from `gateway/`: only the stdlib and msgspec.
"""
