package generate

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// Sink receives the generated objects, one at a time: Generate writes each
// object completely and closes it before creating the next.
type Sink interface {
	// Create returns a writer for the object named key, a '/'-separated S3
	// key such as "AWSLogs/123456789012/vpcflowlogs/…/….log.gz".
	Create(key string) (io.WriteCloser, error)
}

// Dir returns a Sink that writes each object to the file root/key, creating
// directories as needed. An object appears under its name only once it is
// complete (it is written as key + ".partial" and renamed on Close), as S3
// objects do, so a collector watching root never reads half an object.
func Dir(root string) Sink { return dirSink(root) }

type dirSink string

func (d dirSink) Create(key string) (io.WriteCloser, error) {
	path := filepath.Join(string(d), filepath.FromSlash(key))
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("create directory for %s: %w", key, err)
	}
	f, err := os.Create(path + ".partial")
	if err != nil {
		return nil, fmt.Errorf("create %s: %w", key, err)
	}
	return &dirObject{File: f, path: path}, nil
}

// dirObject renames its file into place when closed.
type dirObject struct {
	*os.File
	path string
}

// Abort removes the incomplete object.
func (o *dirObject) Abort() {
	o.File.Close()
	os.Remove(o.File.Name())
}

func (o *dirObject) Close() error {
	if err := o.File.Close(); err != nil {
		os.Remove(o.File.Name())
		return err
	}
	return os.Rename(o.File.Name(), o.path)
}

// countingWriter counts the bytes written through it.
type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}
