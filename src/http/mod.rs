//! http (under construction in this commit series).
