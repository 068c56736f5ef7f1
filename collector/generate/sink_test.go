package generate

import (
	"os"
	"path/filepath"
	"testing"
)

func TestDirSinkPublishesWholeObjects(t *testing.T) {
	root := t.TempDir()
	sink := Dir(root)
	w, err := sink.Create("AWSLogs/1/x.log")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write([]byte("half")); err != nil {
		t.Fatal(err)
	}
	final := filepath.Join(root, "AWSLogs", "1", "x.log")
	if _, err := os.Stat(final); !os.IsNotExist(err) {
		t.Fatalf("object visible before Close: %v", err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if data, err := os.ReadFile(final); err != nil || string(data) != "half" {
		t.Fatalf("after Close: %q, %v", data, err)
	}

	w, err = sink.Create("AWSLogs/1/y.log")
	if err != nil {
		t.Fatal(err)
	}
	abort(w)
	left, _ := filepath.Glob(filepath.Join(root, "AWSLogs", "1", "*"))
	if len(left) != 1 || left[0] != final {
		t.Fatalf("after Abort the folder holds %v, want only %s", left, final)
	}
}
