//! Checks of a decoded advert against one configured instance.
