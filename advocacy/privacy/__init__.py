"""Supporters' data: how long it is kept, their rights over it, key rotation, relayed replies."""
