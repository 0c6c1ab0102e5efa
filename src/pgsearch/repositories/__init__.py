"""SQL statements of the services, kept together and apart from the decisions that use them."""
