"""Layer 3: the real-valued instance of the categories: Smooth (real arrays). Circuits over finite fields live in paralens.circuits."""
