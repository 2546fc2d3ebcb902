package store

import (
	"context"
	"database/sql/driver"
	"errors"

	"modernc.org/sqlite"
)

// sqliteConnector opens SQLite connections that keep their prepared statements. modernc.org/sqlite
// parses and plans a query's SQL on every call made with a query string (about a tenth of the
// server's CPU in a migration); a statement it prepared once runs again without that. Each
// connection keeps up to stmtCacheSize statements by their SQL, so every query of the store is
// parsed once per connection, whichever function runs it, in or out of a transaction.
type sqliteConnector struct {
	driver.Connector // sqlite.NewConnector's
}

func newSQLiteConnector(dsn string) (driver.Connector, error) {
	base, err := sqlite.NewConnector(dsn)
	if err != nil {
		return nil, err
	}
	return sqliteConnector{base}, nil
}

func (c sqliteConnector) Connect(ctx context.Context) (driver.Conn, error) {
	conn, err := c.Connector.Connect(ctx)
	if err != nil {
		return nil, err
	}
	return &stmtCacheConn{conn: conn, stmts: map[string]*cachedStmt{}}, nil
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
		return st, nil // busy, or too long to keep: closed after this use
	}
	if len(c.stmts) >= stmtCacheSize && !c.evictOne() {
		return st, nil
	}
	s := &cachedStmt{Stmt: st, busy: true}
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
	return c.conn.(driver.ConnBeginTx).BeginTx(ctx, opts)
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

// cachedStmt is a kept statement; Close gives it back to its connection instead of finalizing it.
type cachedStmt struct {
	driver.Stmt
	busy bool
}

var (
	_ driver.StmtExecContext  = (*cachedStmt)(nil)
	_ driver.StmtQueryContext = (*cachedStmt)(nil)
)

func (s *cachedStmt) Close() error {
	s.busy = false
	return nil
}

func (s *cachedStmt) ExecContext(ctx context.Context, args []driver.NamedValue) (driver.Result, error) {
	return s.Stmt.(driver.StmtExecContext).ExecContext(ctx, args)
}

func (s *cachedStmt) QueryContext(ctx context.Context, args []driver.NamedValue) (driver.Rows, error) {
	return s.Stmt.(driver.StmtQueryContext).QueryContext(ctx, args)
}
