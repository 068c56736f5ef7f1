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
// directories as needed.
func Dir(root string) Sink { return dirSink(root) }

type dirSink string

func (d dirSink) Create(key string) (io.WriteCloser, error) {
	path := filepath.Join(string(d), filepath.FromSlash(key))
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("create directory for %s: %w", key, err)
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("create %s: %w", key, err)
	}
	return f, nil
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
