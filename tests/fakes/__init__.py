"""In-memory stand-ins for the dispatcher's ports, with the same semantics as the real adapters
(the ledger is held to that by tests/contract)."""
