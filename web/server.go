// Package web is the Echo server: routes, middleware and the thin handlers that parse a request,
// call the domain and render a view.
package web

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/gorilla/sessions"
	"github.com/labstack/echo/v4"

	"github.com/smsretire/smsretire/internal/campaign"
	"github.com/smsretire/smsretire/internal/clock"
	"github.com/smsretire/smsretire/internal/config"
	"github.com/smsretire/smsretire/internal/devbox"
	"github.com/smsretire/smsretire/internal/enroll"
	"github.com/smsretire/smsretire/internal/factor/passkey"
	"github.com/smsretire/smsretire/internal/factor/totp"
	"github.com/smsretire/smsretire/internal/i18n"
	"github.com/smsretire/smsretire/internal/identity"
	"github.com/smsretire/smsretire/internal/keyring"
	"github.com/smsretire/smsretire/internal/limit"
	"github.com/smsretire/smsretire/internal/recovery"
	"github.com/smsretire/smsretire/internal/sealbox"
	"github.com/smsretire/smsretire/internal/signin"
	"github.com/smsretire/smsretire/internal/store"
	"github.com/smsretire/smsretire/static"
)

// Deps is what the server needs from outside.
type Deps struct {
	Config  config.Config
	Keys    keyring.Keys
	Store   *store.SQL
	Catalog *i18n.Catalog
	Clock   clock.Clock
	Logger  *slog.Logger
	// Messages builds the outbox item that carries a verification code; identity.CodeMessage
	// when nil.
	Messages identity.MessageFunc
	// DeliveryFailed reports whether the latest code message to a user on a channel could not be
	// delivered; nil shows no delivery state.
	DeliveryFailed func(ctx context.Context, userID string, ch identity.Method) (bool, error)
	// Devbox holds the messages delivered so far, for the development outbox page; nil, and the
	// page absent, unless --demo.
	Devbox *devbox.Box
	// Providers names passkeys' providers from their AAGUIDs on My security;
	// passkey.DefaultProviders() when nil.
	Providers *passkey.Providers
}

// handler holds what every handler shares; each route is a method on it.
type handler struct {
	cfg          config.Config
	store        *store.SQL
	cat          *i18n.Catalog
	clock        clock.Clock
	log          *slog.Logger
	notices      *campaign.NoticeSigner
	sessions     *sessions.CookieStore
	loc          *time.Location
	assetVersion string
	ident        *identity.Service
	enroll       *enroll.Service
	totp         *totp.Service
	passkeys     *passkey.Service
	providers    *passkey.Providers
	signins      *signin.Service
	recovery     *recovery.Service
	enrollURL    string // where a verified user continues

	deliveryFailed func(ctx context.Context, userID string, ch identity.Method) (bool, error)
	devbox         *devbox.Box // --demo only
}

// New builds the Echo server with every route and middleware.
func New(d Deps) (*echo.Echo, error) {
	signer, err := campaign.NewNoticeSigner(d.Keys.Token)
	if err != nil {
		return nil, err
	}
	if d.Clock == nil {
		d.Clock = clock.System{}
	}
	if d.Logger == nil {
		d.Logger = slog.Default()
	}
	if d.Messages == nil {
		d.Messages = identity.CodeMessage
	}
	if d.Providers == nil {
		d.Providers = passkey.DefaultProviders()
	}
	h := &handler{
		cfg:          d.Config,
		store:        d.Store,
		cat:          d.Catalog,
		clock:        d.Clock,
		log:          d.Logger,
		notices:      signer,
		sessions:     newCookieStore(d.Config, d.Keys),
		loc:          d.Config.Location(),
		assetVersion: static.Version(),
		providers:    d.Providers,

		deliveryFailed: d.DeliveryFailed,
		devbox:         d.Devbox,
	}
	h.ident = identity.New(d.Store, d.Clock, keyring.Derive(d.Keys.Hash, "codes", 32), campaign.NewIDHasher(d.Keys.Hash), identity.Settings{
		CodeTTL:            d.Config.CodeTTL,
		AssistTTL:          d.Config.AssistCodeTTL,
		ResendWait:         d.Config.ResendWait,
		SendsPerHour:       d.Config.SendsPerHour,
		MaxAttempts:        d.Config.MaxCodeAttempts,
		Lockout:            d.Config.LockoutDuration,
		ClientAttemptsHour: d.Config.ClientAttemptsHour,
		KnowledgeSuffices:  d.Config.KnowledgeSuffices,
		Region:             d.Config.DefaultRegion,
		Location:           d.Config.Location(),
		MinSendTime:        d.Config.MinSendTime,
	}, d.Messages)
	if err := h.factorServices(d); err != nil {
		return nil, err
	}
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.HTTPErrorHandler = h.handleError
	ranges, err := d.Config.ProxyRanges()
	if err != nil {
		return nil, err
	}
	if len(ranges) == 0 {
		e.IPExtractor = echo.ExtractIPDirect()
	} else {
		opts := []echo.TrustOption{echo.TrustLoopback(false), echo.TrustLinkLocal(false), echo.TrustPrivateNet(false)}
		for _, r := range ranges {
			opts = append(opts, echo.TrustIPRange(r))
		}
		e.IPExtractor = echo.ExtractIPFromXFFHeader(opts...)
	}
	h.middleware(e)
	h.routes(e)
	return e, nil
}

// Server wraps the Echo handler in an http.Server with the configured timeouts.
func Server(cfg config.Config, e *echo.Echo) *http.Server {
	return &http.Server{
		Addr:              cfg.Addr,
		Handler:           e,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       cfg.ReadTimeout,
		WriteTimeout:      cfg.WriteTimeout,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
	}
}

func (h *handler) now() time.Time { return h.clock.Now() }

func (h *handler) ctx(c echo.Context) context.Context { return c.Request().Context() }

// factorServices builds the services of enrollment and sign-in.
func (h *handler) factorServices(d Deps) error {
	box, err := sealbox.New(d.Keys.Encryption)
	if err != nil {
		return err
	}
	if h.totp, err = totp.New(d.Store, box, d.Config.ServiceName); err != nil {
		return err
	}
	h.passkeys, err = passkey.New(d.Store, d.Clock, keyring.Derive(d.Keys.Hash, "webauthn handle", 32), passkey.Settings{
		RPID: d.Config.RPID, RPName: d.Config.RPName, Origins: d.Config.RPOriginList(),
	})
	if err != nil {
		return err
	}
	recoveryKey := keyring.Derive(d.Keys.Hash, "recovery codes", 32)
	h.recovery = recovery.New(d.Store, recoveryKey)
	h.enroll = enroll.New(d.Store, d.Clock, h.recovery.NewSet, enroll.Policy{
		EmailCompletes: d.Config.EmailFactor == "allowed",
		CheckupAfter:   d.Config.CheckupAfter,
	})
	limits := limit.New(d.Store, limit.Rules{MaxAttempts: d.Config.MaxCodeAttempts, Lockout: d.Config.LockoutDuration, ClientAttemptsHour: d.Config.ClientAttemptsHour})
	useRecovery := func(ctx context.Context, tx *store.Tx, userID, code string, now time.Time) (bool, error) {
		n, ok := recovery.Normalize(code)
		if !ok {
			return false, nil
		}
		return tx.UseRecoveryCode(ctx, userID, recovery.Hash(recoveryKey, userID, n), now)
	}
	h.signins = signin.New(d.Store, d.Clock, h.ident, h.totp, limits, useRecovery)
	h.enrollURL = "/enroll"
	return nil
}
