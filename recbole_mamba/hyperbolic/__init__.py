"""Hyperbolic geometry for HMamba: pure functions (math.py) and the learnable-curvature module (manifold.py)."""
