"""Layer 3: the instances of the categories: Smooth (real arrays) and polynomial circuits over Z_p."""
