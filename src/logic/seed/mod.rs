//! Sample data decided without a database: what to write in each column from catalog
//! facts ([`generate`], [`hints`] for what column names say, in the words of [`vocab`]), rows from that plan
//! ([`rows`], with [`prng`] and [`words`]), and their binary wire format ([`value`]).

pub mod facts;
pub mod generate;
pub mod hints;
pub mod prng;
pub mod rows;
pub mod value;
pub mod vocab;
pub mod words;
