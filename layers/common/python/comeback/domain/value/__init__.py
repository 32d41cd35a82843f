"""Customer value: how many more purchases a customer will make (BG/NBD), how much each is
worth (Gamma-Gamma), and the two combined into a discounted lifetime value. Pure Python so
the Lambda package stays small."""
