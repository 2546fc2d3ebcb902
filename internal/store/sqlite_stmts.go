package store

import (
	"context"
	"database/sql/driver"
	"errors"
	"strings"
	"time"

	"modernc.org/sqlite"
)

// sqliteConnector opens SQLite connections that keep their prepared statements. modernc.org/sqlite
// parses and plans a query's SQL on every call made with a query string (about a tenth of the
// server's CPU in a migration); a statement it prepared once runs again without that. Each
// connection keeps up to stmtCacheSize statements by their SQL, so every query of the store is
// parsed once per connection, whichever function runs it, in or out of a transaction.
//
// Its connections also take turns to write, in Go: SQLite has one writer at a time, and a
// connection that finds the write lock taken sleeps in SQLite's busy handler (1, 2, 5, 10 … 100
// ms) before it looks again, so under load writers queued for hundreds of milliseconds behind
// locks released long before. Every transaction writes (BEGIN IMMEDIATE, _txlock in Open's DSN),
// as does every Exec outside one: each waits for the gate, which hands the turn on at once.
type sqliteConnector struct {
	driver.Connector // sqlite.NewConnector's
	gate             chan struct{}
}

func newSQLiteConnector(dsn string) (driver.Connector, error) {
	base, err := sqlite.NewConnector(dsn)
	if err != nil {
		return nil, err
	}
	return sqliteConnector{Connector: base, gate: make(chan struct{}, 1)}, nil
}

func (c sqliteConnector) Connect(ctx context.Context) (driver.Conn, error) {
	conn, err := c.Connector.Connect(ctx)
	if err != nil {
		return nil, err
	}
	return &stmtCacheConn{conn: conn, stmts: map[string]*cachedStmt{}, gate: c.gate}, nil
}

// gateWait is how long a writer waits for its turn before it goes ahead anyway and lets SQLite's
// busy timeout decide (a write outside a transaction while the same goroutine holds one would
// otherwise wait forever).
const gateWait = 10 * time.Second

// enter waits for the write turn; the returned function gives it back (a no-op when the wait
// ended without it).
func enter(ctx context.Context, gate chan struct{}) (leave func(), err error) {
	select {
	case gate <- struct{}{}:
		return func() { <-gate }, nil
	default:
	}
	t := time.NewTimer(gateWait)
	defer t.Stop()
	select {
	case gate <- struct{}{}:
		return func() { <-gate }, nil
	case <-t.C:
		return func() {}, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// stmtCacheSize bounds the statements one connection keeps; stmtCacheMaxSQL leaves out long
// generated SQL (a batch of a thousand rows), which would only fill it.
const (
	stmtCacheSize   = 256
	stmtCacheMaxSQL = 4 << 10
)

// stmtCacheConn is a driver connection whose Prepare hands out kept statements. It deliberately
// has no Exec or Query of its own, so that database/sql prepares (here: finds) a statement for
// every call and closes (here: gives back) it when done. database/sql uses a connection from
// one goroutine at a time; a statement still busy (rows of the same query open in a transaction)
// is not handed out twice: the second caller gets one of its own.
type stmtCacheConn struct {
	conn  driver.Conn
	stmts map[string]*cachedStmt
	gate  chan struct{} // the write turn, shared by the connections of one database
	inTx  bool          // a transaction is open: its Execs have the turn already
}

var (
	_ driver.ConnPrepareContext = (*stmtCacheConn)(nil)
	_ driver.ConnBeginTx        = (*stmtCacheConn)(nil)
	_ driver.Pinger             = (*stmtCacheConn)(nil)
	_ driver.SessionResetter    = (*stmtCacheConn)(nil)
	_ driver.Validator          = (*stmtCacheConn)(nil)
)

// Unwrap returns the driver's connection, as modernc.org/sqlite asks of a wrapper.
func (c *stmtCacheConn) Unwrap() driver.Conn { return c.conn }

func (c *stmtCacheConn) Prepare(query string) (driver.Stmt, error) {
	return c.PrepareContext(context.Background(), query)
}

func (c *stmtCacheConn) PrepareContext(ctx context.Context, query string) (driver.Stmt, error) {
	if s, ok := c.stmts[query]; ok && !s.busy {
		s.busy = true
		return s, nil
	}
	st, err := c.conn.(driver.ConnPrepareContext).PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	if _, ok := c.stmts[query]; ok || len(query) > stmtCacheMaxSQL {
		return &cachedStmt{Stmt: st, conn: c, once: true, returning: returns(query)}, nil // busy, or too long to keep
	}
	if len(c.stmts) >= stmtCacheSize && !c.evictOne() {
		return &cachedStmt{Stmt: st, conn: c, once: true, returning: returns(query)}, nil
	}
	s := &cachedStmt{Stmt: st, conn: c, busy: true, returning: returns(query)}
	c.stmts[query] = s
	return s, nil
}

// evictOne closes a statement not in use to make room; false when every one is in use.
func (c *stmtCacheConn) evictOne() bool {
	for q, s := range c.stmts {
		if !s.busy {
			delete(c.stmts, q)
			s.Stmt.Close()
			return true
		}
	}
	return false
}

func (c *stmtCacheConn) Close() error {
	var errs []error
	for q, s := range c.stmts {
		delete(c.stmts, q)
		errs = append(errs, s.Stmt.Close())
	}
	return errors.Join(append(errs, c.conn.Close())...)
}

func (c *stmtCacheConn) Begin() (driver.Tx, error) {
	return c.BeginTx(context.Background(), driver.TxOptions{})
}

func (c *stmtCacheConn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	leave, err := enter(ctx, c.gate)
	if err != nil {
		return nil, err
	}
	tx, err := c.conn.(driver.ConnBeginTx).BeginTx(ctx, opts)
	if err != nil {
		leave()
		return nil, err
	}
	c.inTx = true
	return &gatedTx{Tx: tx, conn: c, leave: leave}, nil
}

// gatedTx gives the write turn back when it ends.
type gatedTx struct {
	driver.Tx
	conn  *stmtCacheConn
	leave func()
}

func (t *gatedTx) Commit() error {
	defer t.end()
	return t.Tx.Commit()
}

func (t *gatedTx) Rollback() error {
	defer t.end()
	return t.Tx.Rollback()
}

func (t *gatedTx) end() {
	t.conn.inTx = false
	t.leave()
}

func (c *stmtCacheConn) Ping(ctx context.Context) error {
	return c.conn.(driver.Pinger).Ping(ctx)
}

func (c *stmtCacheConn) ResetSession(ctx context.Context) error {
	if r, ok := c.conn.(driver.SessionResetter); ok {
		return r.ResetSession(ctx)
	}
	return nil
}

func (c *stmtCacheConn) IsValid() bool {
	if v, ok := c.conn.(driver.Validator); ok {
		return v.IsValid()
	}
	return true
}

// cachedStmt is a kept statement; Close gives it back to its connection instead of finalizing
// it. once marks one that is not kept: Close finalizes it.
type cachedStmt struct {
	driver.Stmt
	conn      *stmtCacheConn
	busy      bool
	once      bool
	returning bool // a write that answers rows (… RETURNING): queried, it writes too
}

// returns reports whether query answers with the rows it wrote.
func returns(query string) bool { return strings.Contains(strings.ToUpper(query), "RETURNING") }

var (
	_ driver.StmtExecContext  = (*cachedStmt)(nil)
	_ driver.StmtQueryContext = (*cachedStmt)(nil)
)

func (s *cachedStmt) Close() error {
	if s.once {
		return s.Stmt.Close()
	}
	s.busy = false
	return nil
}

// ExecContext writes, outside a transaction in its turn.
func (s *cachedStmt) ExecContext(ctx context.Context, args []driver.NamedValue) (driver.Result, error) {
	if !s.conn.inTx {
		leave, err := enter(ctx, s.conn.gate)
		if err != nil {
			return nil, err
		}
		defer leave()
	}
	return s.Stmt.(driver.StmtExecContext).ExecContext(ctx, args)
}

// QueryContext reads; a write that returns rows, outside a transaction, in its turn, which lasts
// until its rows are closed.
func (s *cachedStmt) QueryContext(ctx context.Context, args []driver.NamedValue) (driver.Rows, error) {
	if !s.returning || s.conn.inTx {
		return s.Stmt.(driver.StmtQueryContext).QueryContext(ctx, args)
	}
	leave, err := enter(ctx, s.conn.gate)
	if err != nil {
		return nil, err
	}
	rows, err := s.Stmt.(driver.StmtQueryContext).QueryContext(ctx, args)
	if err != nil {
		leave()
		return nil, err
	}
	return &gatedRows{Rows: rows, leave: leave}, nil
}

// gatedRows gives the write turn back when closed.
type gatedRows struct {
	driver.Rows
	leave func()
}

func (r *gatedRows) Close() error {
	defer func() { leave := r.leave; r.leave = func() {}; leave() }()
	return r.Rows.Close()
}
