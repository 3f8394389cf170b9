package store

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"io/fs"
	"os"

	bolterrors "go.etcd.io/bbolt/errors"
)

// ErrTruncated means the database file is shorter than its own header says: part of it was lost (a
// half-finished copy, a full disk). bbolt would map the missing part and the process would die with
// SIGBUS on the first read, so Open refuses the file instead. Restore it from a backup.
var ErrTruncated = errors.New("database file is truncated")

// ErrLocked means another process holds the database file's lock (most likely another keranjang serve).
var ErrLocked = errors.New("database file is locked by another process")

// bbolt's on-disk meta page (go.etcd.io/bbolt internal/common meta.go and page.go, file format version
// 2): a 16-byte page header (id uint64, flags uint16, count uint16, overflow uint32) followed by the meta:
// magic uint32, version uint32, page size uint32, flags uint32, root bucket (pgid uint64, sequence uint64),
// freelist pgid uint64, high-water mark pgid uint64, txid uint64, checksum uint64 (FNV-64a of the meta
// bytes before it). Fields are in the machine's byte order. Pages 0 and 1 each hold a meta; the valid one
// with the higher txid is current.
const (
	boltPageHeader  = 16
	boltMetaSize    = 64
	boltMagic       = 0xED0CDAED
	boltVersion     = 2
	metaOffPageSize = 8
	metaOffPgid     = 40
	metaOffTxid     = 48
	metaOffChecksum = 56
)

type boltMeta struct {
	pageSize uint32
	pgid     uint64
	txid     uint64
}

// readMeta decodes the meta at off in f; ok is false when there is none (wrong magic, version or
// checksum, or the file ends first).
func readMeta(f io.ReaderAt, off int64) (m boltMeta, ok bool) {
	buf := make([]byte, boltMetaSize)
	if _, err := f.ReadAt(buf, off+boltPageHeader); err != nil {
		return m, false
	}
	ne := binary.NativeEndian
	if ne.Uint32(buf[0:]) != boltMagic || ne.Uint32(buf[4:]) != boltVersion {
		return m, false
	}
	h := fnv.New64a()
	_, _ = h.Write(buf[:metaOffChecksum])
	if h.Sum64() != ne.Uint64(buf[metaOffChecksum:]) {
		return m, false
	}
	return boltMeta{pageSize: ne.Uint32(buf[metaOffPageSize:]), pgid: ne.Uint64(buf[metaOffPgid:]),
		txid: ne.Uint64(buf[metaOffTxid:])}, true
}

// checkFile refuses a database file that is shorter than its meta pages say, before bbolt maps it. A
// missing file and an empty one are new databases (bbolt initialises them); a file that is not a bbolt
// database at all is left for bbolt to refuse.
func checkFile(path string) error {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	size := fi.Size()
	if size == 0 || !fi.Mode().IsRegular() {
		return nil
	}
	m0, ok0 := readMeta(f, 0)
	if !ok0 {
		if size < boltPageHeader+boltMetaSize {
			return fmt.Errorf("%w: %s has only %d bytes", ErrTruncated, path, size)
		}
		return nil // not a bbolt file, or its first meta is damaged: bbolt says which
	}
	m := m0
	if m1, ok1 := readMeta(f, int64(m0.pageSize)); ok1 && m1.txid > m0.txid {
		m = m1
	}
	if m.pageSize == 0 {
		return nil
	}
	want := int64(m.pgid) * int64(m.pageSize)
	if want < 2*int64(m.pageSize) {
		want = 2 * int64(m.pageSize)
	}
	if size < want {
		return fmt.Errorf("%w: %s has %d bytes, its header says at least %d", ErrTruncated, path, size, want)
	}
	return nil
}

// openError maps bbolt's open errors to the store's: a lock wait that timed out becomes ErrLocked.
func openError(path string, err error) error {
	if errors.Is(err, bolterrors.ErrTimeout) {
		return fmt.Errorf("%w (probably another keranjang serve): %s", ErrLocked, path)
	}
	if errors.Is(err, ErrTruncated) {
		return err
	}
	// The os error repeats the operation and the path; say them once.
	var pe *fs.PathError
	if errors.As(err, &pe) && pe.Path == path {
		err = pe.Err
	}
	return fmt.Errorf("open database %s: %w", path, err)
}
