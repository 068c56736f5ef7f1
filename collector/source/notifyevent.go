package source

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"
)

// Notification is an S3 event notification as a queue message carries it.
type Notification struct {
	// TestEvent is the s3:TestEvent S3 sends when a bucket's notification
	// configuration is set; Bucket names its bucket.
	TestEvent bool
	Bucket    string
	// Records are the events (none for a test event).
	Records []EventRecord
}

// EventRecord is one event of a notification.
type EventRecord struct {
	// EventName is the event type without "s3:" (ObjectCreated:Put, …).
	EventName string
	Bucket    string
	// Object is the object the event is about: its key URL-decoded, its
	// ETag as Version, its size, and the event's time as ModTime.
	Object Object
}

// ParseNotification parses the body of a queue message holding an S3
// event notification: the event JSON ({"Records":[…]}), the s3:TestEvent,
// or either inside an SNS notification's envelope (Type "Notification",
// the event JSON in Message). Keys are URL-decoded (S3 writes them
// form-encoded: '+' is a space). An error says why the body is not one:
// such a message is poison.
func ParseNotification(body string) (Notification, error) {
	var raw struct {
		Type    string `json:"Type"`
		Message *string
		Event   string `json:"Event"`
		Bucket  string `json:"Bucket"`
		Records []struct {
			EventSource string `json:"eventSource"`
			EventTime   string `json:"eventTime"`
			EventName   string `json:"eventName"`
			S3          *struct {
				Bucket struct {
					Name string `json:"name"`
				} `json:"bucket"`
				Object struct {
					Key  *string `json:"key"`
					Size int64   `json:"size"`
					ETag string  `json:"eTag"`
				} `json:"object"`
			} `json:"s3"`
		} `json:"Records"`
	}
	if err := json.Unmarshal([]byte(body), &raw); err != nil {
		return Notification{}, fmt.Errorf("not JSON: %w", err)
	}
	if raw.Type == "Notification" && raw.Message != nil {
		n, err := ParseNotification(*raw.Message)
		if err != nil {
			return n, fmt.Errorf("SNS notification's Message: %w", err)
		}
		return n, nil
	}
	if raw.Event == "s3:TestEvent" {
		return Notification{TestEvent: true, Bucket: raw.Bucket}, nil
	}
	if raw.Records == nil {
		return Notification{}, errors.New("neither S3 event records, an s3:TestEvent nor an SNS notification")
	}
	out := Notification{Records: make([]EventRecord, 0, len(raw.Records))}
	for i, r := range raw.Records {
		if r.S3 == nil || r.S3.Object.Key == nil || r.S3.Bucket.Name == "" {
			return Notification{}, fmt.Errorf("record %d: no s3.bucket.name or s3.object.key", i)
		}
		key, err := url.QueryUnescape(*r.S3.Object.Key)
		if err != nil {
			return Notification{}, fmt.Errorf("record %d: key %q: %w", i, *r.S3.Object.Key, err)
		}
		var at time.Time
		if r.EventTime != "" {
			if at, err = time.Parse(time.RFC3339Nano, r.EventTime); err != nil {
				return Notification{}, fmt.Errorf("record %d: eventTime %q: %w", i, r.EventTime, err)
			}
		}
		out.Records = append(out.Records, EventRecord{
			EventName: strings.TrimPrefix(r.EventName, "s3:"),
			Bucket:    r.S3.Bucket.Name,
			Object:    Object{Key: key, Version: strings.Trim(r.S3.Object.ETag, `"`), Size: r.S3.Object.Size, ModTime: at},
		})
	}
	return out, nil
}
