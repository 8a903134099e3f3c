//! Conversion between format versions (spec section 10).
