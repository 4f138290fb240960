//! proxy (under construction in this commit series).
