"""API shapes, one module per resource: Base / Create / Update / Public families and `Page` for lists."""
