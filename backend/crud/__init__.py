"""Database operations, one module per resource. Every state change writes its audit entry in the same transaction."""
