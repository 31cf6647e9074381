//! tg-sim driven through grammers-client 0.11, the connector the product ships:
//! one test binary, each test on its own in-process simulator on port 0.

mod common;

mod catch_up;
mod control;
mod load;
mod login;
mod messaging;
mod protocol;
mod robustness;
