//! A typed client for what most tests do before what they test: create a room and book it.
//! Each test says only what matters to it (a zone, a rule, a title); the rest is a valid
//! default, so no test file keeps its own copy of these requests.

use std::marker::PhantomData;

use reqwest::Method;
use serde_json::{Map, Value, json};

use crate::{Person, TestStack};

/// A request body a test builds: what `K` (a room, a booking) is made of, field by field.
#[derive(Debug, Clone)]
pub struct Draft<K> {
    body: Map<String, Value>,
    kind: PhantomData<K>,
}

/// What a room is made of: `Europe/London`, six seats and the default rules unless set.
#[derive(Debug, Clone)]
pub struct Room;

/// What a booking is made of: times as given (RFC 3339, or local to the room).
#[derive(Debug, Clone)]
pub struct Booking;

pub type NewRoom = Draft<Room>;
pub type NewBooking = Draft<Booking>;

impl<K> Draft<K> {
    fn from(body: Value) -> Self {
        Self {
            body: match body {
                Value::Object(body) => body,
                _ => Map::new(),
            },
            kind: PhantomData,
        }
    }

    /// Any field, over what is set (`equipment`, `override_reason`, …).
    pub fn with(mut self, field: &str, value: Value) -> Self {
        self.body.insert(field.to_owned(), value);
        self
    }

    /// Every field of `fields` (a JSON object), over what is set.
    pub fn with_all(mut self, fields: Value) -> Self {
        if let Value::Object(fields) = fields {
            self.body.extend(fields);
        }
        self
    }

    fn body(self) -> Value {
        Value::Object(self.body)
    }
}

impl Draft<Room> {
    pub fn named(name: &str) -> Self {
        Self::from(json!({ "name": name, "time_zone": "Europe/London", "capacity": 6 }))
    }

    pub fn zone(self, time_zone: &str) -> Self {
        self.with("time_zone", json!(time_zone))
    }

    pub fn capacity(self, seats: u32) -> Self {
        self.with("capacity", json!(seats))
    }

    pub fn rules(self, rules: Value) -> Self {
        self.with("rules", rules)
    }
}

impl Draft<Booking> {
    pub fn of(room_id: &str, start: impl ToString, end: impl ToString) -> Self {
        Self::from(json!({
            "room_id": room_id, "title": "Booking",
            "start": start.to_string(), "end": end.to_string(),
        }))
    }

    pub fn title(self, title: &str) -> Self {
        self.with("title", json!(title))
    }
}

impl TestStack {
    /// `owner` creates `room`: its id (the test fails unless it is created).
    pub async fn create_room(&self, owner: &Person, room: NewRoom) -> String {
        self.room(owner, room.body()).await
    }

    /// `owner` makes a credential type (`body` as `POST /v1/credential-types` takes it): the
    /// type (the test fails unless it is created).
    pub async fn create_credential_type(&self, owner: &Person, body: Value) -> Value {
        let (status, kind) = self
            .call(owner, Method::POST, "/v1/credential-types", body)
            .await;
        assert_eq!(status, 201, "a credential type: {kind}");
        kind
    }

    /// `who` books `booking`: the status and the answer, whatever they are.
    pub async fn try_book(&self, who: &Person, booking: NewBooking) -> (u16, Value) {
        self.call(who, Method::POST, "/v1/bookings", booking.body())
            .await
    }

    /// `who` books `booking`: the booking (the test fails unless it is created).
    pub async fn book(&self, who: &Person, booking: NewBooking) -> Value {
        let (status, answer) = self.try_book(who, booking).await;
        assert_eq!(status, 201, "booking: {answer}");
        answer
    }
}
