//! runtime (under construction in this commit series).
