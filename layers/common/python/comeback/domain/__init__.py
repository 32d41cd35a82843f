"""Pure business rules: data and a clock in, decisions out. No AWS here."""
