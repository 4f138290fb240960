//! route (under construction in this commit series).
