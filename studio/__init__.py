"""Lecture-production studio: cameras, recording, bookings, review and publishing."""
