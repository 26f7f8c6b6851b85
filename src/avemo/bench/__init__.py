"""`avemo bench`: avemo beside classical peers and the oracle on the same split, and its speed."""
