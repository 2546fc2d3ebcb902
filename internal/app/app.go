// Package app builds smsretire once: from the configuration, the keys, the store and the message
// catalog it makes every domain service and the outbox worker, each with the key label and
// settings it must have everywhere. `smsretire serve`, the operator commands and the tests all
// start from New, and web.New receives the App, so nothing is wired twice.
//
// To add a service, give App a field, build it in New from what is already built (in the order of
// its dependencies) and document what it is; handlers reach it through the App.
package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"

	"github.com/smsretire/smsretire/internal/approval"
	"github.com/smsretire/smsretire/internal/campaign"
	"github.com/smsretire/smsretire/internal/clock"
	"github.com/smsretire/smsretire/internal/config"
	"github.com/smsretire/smsretire/internal/contact"
	"github.com/smsretire/smsretire/internal/devbox"
	"github.com/smsretire/smsretire/internal/device"
	"github.com/smsretire/smsretire/internal/enroll"
	"github.com/smsretire/smsretire/internal/factor/passkey"
	"github.com/smsretire/smsretire/internal/factor/totp"
	"github.com/smsretire/smsretire/internal/i18n"
	"github.com/smsretire/smsretire/internal/identity"
	"github.com/smsretire/smsretire/internal/keyring"
	"github.com/smsretire/smsretire/internal/mail"
	"github.com/smsretire/smsretire/internal/metrics"
	"github.com/smsretire/smsretire/internal/outbox"
	"github.com/smsretire/smsretire/internal/partner"
	"github.com/smsretire/smsretire/internal/provider"
	"github.com/smsretire/smsretire/internal/push"
	"github.com/smsretire/smsretire/internal/qrsignin"
	"github.com/smsretire/smsretire/internal/recovery"
	"github.com/smsretire/smsretire/internal/retention"
	"github.com/smsretire/smsretire/internal/rollout"
	"github.com/smsretire/smsretire/internal/sealbox"
	"github.com/smsretire/smsretire/internal/securitynotice"
	"github.com/smsretire/smsretire/internal/session"
	"github.com/smsretire/smsretire/internal/signin"
	"github.com/smsretire/smsretire/internal/sms"
	"github.com/smsretire/smsretire/internal/staff"
	"github.com/smsretire/smsretire/internal/store"
	"github.com/smsretire/smsretire/internal/support"
	"github.com/smsretire/smsretire/internal/useragent"
	"github.com/smsretire/smsretire/internal/webhook"
)

// Parts are what the App is built from: the infrastructure a process opens (Open does that for
// the commands; tests bring a fresh store and generated keys) and, for tests, collaborators that
// replace the configured ones.
type Parts struct {
	Config  config.Config
	Keys    keyring.Keys
	Store   *store.SQL
	Catalog *i18n.Catalog
	// Render turns outbox messages into text in the recipient's language: views/message, which
	// internal packages do not import, so the caller hands it in.
	Render outbox.Renderer
	Clock  clock.Clock  // clock.System{} when nil
	Logger *slog.Logger // slog.Default() when nil

	// Replacements; nil means as configured.
	SMS       sms.Gateway        // --sms-gateway: the log gateway or the signed HTTP gateway
	Mail      mail.Sender        // --smtp-url: SMTP, or the log when empty
	Events    outbox.EventSender // --webhook-urls: the webhook sender, or none
	Devbox    *devbox.Box        // --demo: a development outbox of devbox.DefaultCapacity, else none
	Providers *passkey.Providers // passkey.DefaultProviders()
	// CodeMessages builds the outbox item that carries a one-time code (outbox.CodeMessage);
	// tests wrap it to read the codes they need.
	CodeMessages identity.MessageFunc
}

// App is the assembled portal: the parts it was built from and every service, built once.
type App struct {
	Config  config.Config
	Keys    keyring.Keys
	Store   *store.SQL
	Catalog *i18n.Catalog
	Clock   clock.Clock
	Logger  *slog.Logger

	Notices         *campaign.NoticeSigner  // signs and reads notice links
	IDs             *campaign.IDHasher      // hashes the ID digits of the roster and the knowledge check
	Identity        *identity.Service       // verification before enrollment
	TOTP            *totp.Service           // authenticator apps, secrets sealed at rest
	Passkeys        *passkey.Service        // WebAuthn ceremonies
	Providers       *passkey.Providers      // passkey provider names by AAGUID
	Recovery        *recovery.Service       // recovery codes
	Enroll          *enroll.Service         // adding, renaming and removing factors; retiring SMS
	SignIn          *signin.Service         // signing in again with a new factor
	Launches        *partner.Service        // partner sites' launches into the embedded journey
	Sessions        *session.Service        // signed-in sessions of every kind, and verification grants
	Staff           *staff.Service          // support staff, their roles and setup links, and the staff audit log
	StaffSSO        *staff.SSO              // staff sign-in through the company's provider; nil unless --staff-oidc-issuer
	Support         *support.Service        // the support console: search, a user's page, staff actions, dashboard, audit log
	Rollout         *rollout.Service        // the campaign: notices, reminders, snoozes, exemptions, counts
	Metrics         *metrics.Metrics        // Prometheus metrics of this process; web serves them on --metrics-addr
	SecurityNotices *securitynotice.Service // security notices on every channel, and their "this wasn't me" links
	Devices         *device.Service         // the browsers each user signed in on, for new-device notices
	Approvals       *approval.Service       // sign-in approved on a signed-in phone, with number matching (--push-approval)
	Push            *push.Sender            // Web Push to approver devices; nil without a VAPID key
	Contacts        *contact.Service        // changing the registered email and phone
	QRSignIn        *qrsignin.Service       // sign-in on a computer by a QR code the signed-in phone approves
	Retention       *retention.Job          // deletes what is past its keeping; serve runs it
	Worker          *outbox.Worker          // delivers the outbox; serve runs it, tests call DeliverDue
	Devbox          *devbox.Box             // the development outbox; nil unless --demo
	// Provider is the OpenID Connect provider for the operator's services; nil when no signing
	// key is configured and none may be generated (see newProvider).
	Provider *provider.Service
}

// OIDCPath is where the OpenID Connect provider lives under --base-url (web's oidc group): the
// issuer is BaseURL + OIDCPath, and its login step is OIDCPath + "/login".
const OIDCPath = "/oidc"

// The labels of the keys derived from the hash key, one per use; changing one invalidates what
// was stored under it.
const (
	labelCodes    = "codes"
	labelRecovery = "recovery codes"
	labelWebAuthn = "webauthn handle"
	labelOIDC     = "oidc tokens"
	labelDevices  = "devices"
	labelNotMe    = "not-me links"     // derived from the token key, which signs links
	labelQRForms  = "qr sign-in forms" // derived from the token key: ties a QR approval form to its session
	labelApproval = "approval numbers"
)

// New builds every service and the outbox worker from p.
func New(p Parts) (*App, error) {
	if p.Store == nil || p.Catalog == nil || p.Render == nil {
		return nil, fmt.Errorf("app: a store, a catalog and a renderer are required")
	}
	a := &App{Config: p.Config, Keys: p.Keys, Store: p.Store, Catalog: p.Catalog, Clock: p.Clock, Logger: p.Logger,
		Providers: p.Providers, Devbox: p.Devbox}
	if a.Clock == nil {
		a.Clock = clock.System{}
	}
	if a.Logger == nil {
		a.Logger = slog.Default()
	}
	if a.Providers == nil {
		a.Providers = passkey.DefaultProviders()
	}
	if a.Devbox == nil && a.Config.Demo {
		a.Devbox = devbox.New(devbox.DefaultCapacity)
	}
	if p.CodeMessages == nil {
		p.CodeMessages = identity.CodeMessage
	}
	cfg := a.Config
	var err error
	if a.Notices, err = campaign.NewNoticeSigner(a.Keys.Token); err != nil {
		return nil, err
	}
	a.IDs = campaign.NewIDHasher(a.Keys.Hash)
	a.Identity = identity.New(a.Store, a.Clock, keyring.Derive(a.Keys.Hash, labelCodes, 32), a.IDs, identity.Settings{
		CodeTTL:            cfg.CodeTTL,
		AssistTTL:          cfg.AssistCodeTTL,
		ResendWait:         cfg.ResendWait,
		SendsPerHour:       cfg.SendsPerHour,
		MaxAttempts:        cfg.MaxCodeAttempts,
		Lockout:            cfg.LockoutDuration,
		ClientAttemptsHour: cfg.ClientAttemptsHour,
		KnowledgeSuffices:  cfg.KnowledgeSuffices,
		Region:             cfg.DefaultRegion,
		Location:           cfg.Location(),
		MinSendTime:        cfg.MinSendTime,
		Rules:              a.Rules(),
	}, p.CodeMessages)
	box, err := sealbox.New(a.Keys.Encryption)
	if err != nil {
		return nil, err
	}
	// The one-time codes in the outbox are sealed with the keys of the TOTP secrets.
	a.Store.SealSecretsWith(box)
	if a.TOTP, err = totp.New(a.Store, box, cfg.ServiceName); err != nil {
		return nil, err
	}
	a.Passkeys, err = passkey.New(a.Store, a.Clock, keyring.Derive(a.Keys.Hash, labelWebAuthn, 32), passkey.Settings{
		RPID: cfg.RPID, RPName: cfg.RPName, Origins: cfg.RPOriginList(), TopOrigins: cfg.PartnerOrigins(),
	})
	if err != nil {
		return nil, err
	}
	a.SecurityNotices = securitynotice.New(a.Store, a.Clock, keyring.Derive(a.Keys.Token, labelNotMe, 32))
	a.Devices = device.New(a.Store, a.Clock, keyring.Derive(a.Keys.Hash, labelDevices, 32), a.SecurityNotices)
	a.QRSignIn = qrsignin.New(a.Store, a.Clock, keyring.Derive(a.Keys.Token, labelQRForms, 32), a.SecurityNotices)
	if a.Keys.VAPID.On() {
		a.Push = &push.Sender{St: a.Store, Keys: a.Keys.VAPID, Subject: cfg.VAPIDSubject, Words: a.pushWords, Clock: a.Clock,
			Log: a.Logger.With("component", "push")}
	}
	var notify approval.Notifier
	if a.Push != nil {
		notify = a.Push
	}
	a.Approvals = approval.New(a.Store, a.Clock, keyring.Derive(a.Keys.Hash, labelApproval, 32), a.SecurityNotices, notify,
		approval.DefaultSettings(cfg.PushApprovalDigits))
	a.Contacts = contact.New(a.Store, a.Clock, a.Identity, a.SecurityNotices, cfg.DefaultRegion, a.Rules())
	a.Recovery = recovery.New(a.Store, keyring.Derive(a.Keys.Hash, labelRecovery, 32), a.SecurityNotices)
	a.Enroll = enroll.New(a.Store, a.Clock, a.Recovery.NewSet, enroll.Policy{
		EmailCompletes: cfg.EmailFactor == "allowed",
		CheckupAfter:   cfg.CheckupAfter,
	}, a.SecurityNotices)
	a.Retention = retention.New(a.Store, a.Clock, a.Logger.With("component", "retention"), retention.Settings{
		History: cfg.HistoryRetention, Outbox: cfg.OutboxRetention,
	})
	a.SignIn = signin.New(a.Store, a.Clock, a.Identity, a.TOTP, a.Identity.Limits(), a.Recovery)
	a.Launches = partner.New(a.Store, a.Clock, a.Config.Partner, cfg.BaseURL)
	a.Sessions = session.New(a.Store, a.Clock, map[session.Kind]session.Rules{
		session.User: {Cookie: "smsretire", Idle: cfg.SessionIdle, MaxAge: cfg.SessionMaxAge, StepUp: cfg.StepUpWindow},
		// Staff sign in for a working day: 8 hours at most, 30 minutes idle (internal/staff).
		session.Staff: {Cookie: "smsretire_staff", Idle: staff.SessionIdle, MaxAge: staff.SessionMaxAge, StepUp: staff.SessionMaxAge},
		// Until partner embedding comes with settings of its own, its sessions live as long as a
		// user's, with their own cookie.
		session.Embed: {Cookie: "smsretire_embed", Idle: cfg.SessionIdle, MaxAge: cfg.SessionMaxAge, StepUp: cfg.StepUpWindow},
	}, cfg.ElevatedWindow)
	if a.Provider, err = a.newProvider(); err != nil {
		return nil, err
	}
	a.Rollout = rollout.New(a.Store, a.Clock, cfg.Campaign, cfg.Location(), a.NoticeLink, a.Logger.With("component", "campaign"))
	if a.Worker, err = a.worker(p); err != nil {
		return nil, err
	}
	a.Staff = staff.New(a.Store, a.Clock, staff.Factors{TOTP: a.TOTP, Passkeys: a.Passkeys, Limits: a.Identity.Limits()})
	if cfg.StaffOIDCIssuer != "" {
		a.StaffSSO = staff.NewSSO(staff.SSOSettings{Issuer: cfg.StaffOIDCIssuer, ClientID: cfg.StaffOIDCClientID,
			ClientSecret: cfg.StaffOIDCClientSecret, RoleClaim: cfg.StaffOIDCRoleClaim, RedirectURL: cfg.BaseURL + StaffSSOCallbackPath})
	}
	a.Support = support.New(a.Store, a.Clock, a.Identity, a.Rollout, a.SecurityNotices, a.Staff,
		support.Settings{Region: cfg.DefaultRegion, Location: cfg.Location()})
	a.Metrics = metrics.New()
	a.Store.OnEvents(a.Metrics.Event)
	a.Worker.Observer = a.Metrics
	a.Metrics.Watch(metrics.Source{Users: a.Rollout.Counts, Outbox: a.Store.DueOutbox, Clock: a.Clock,
		Errors: func(err error) { a.Logger.Warn("metrics: reading the database", "err", err) }})
	return a, nil
}

// newProvider builds the OpenID Connect provider with the signing keys of the configuration file.
// Without any, a development key is generated into --data-dir when the server listens on a
// loopback address only (as with the other keys); elsewhere there is no provider, which is an
// error only when clients are configured.
func (a *App) newProvider() (*provider.Service, error) {
	cfg := a.Config
	keys, generated, err := provider.LoadKeys(cfg.OIDC.SigningKeys, cfg.DataDir, cfg.LoopbackOnly())
	if err != nil {
		if len(cfg.OIDC.SigningKeys) == 0 && len(cfg.Clients) == 0 {
			return nil, nil
		}
		return nil, err
	}
	if generated {
		a.Logger.Warn("generated a development OpenID Connect signing key; configure [[oidc.signing_key]] in production", "dir", cfg.DataDir)
	}
	var crypto [32]byte
	copy(crypto[:], keyring.Derive(a.Keys.Hash, labelOIDC, 32))
	return provider.New(a.Store, a.Clock, provider.Settings{
		Issuer:    cfg.BaseURL + OIDCPath,
		LoginPath: OIDCPath + "/login",
		OIDC:      cfg.OIDC,
		Clients:   cfg.Clients,
		Keys:      keys,
		CryptoKey: crypto,
		Insecure:  strings.HasPrefix(cfg.BaseURL, "http://"),
		LogoutURI: cfg.BaseURL + "/",
	})
}

// worker builds the outbox worker: the SMS gateway (log or signed HTTP), the mailer (SMTP, or the
// log without --smtp-url), the renderer and the webhook sender (none without --webhook-urls).
func (a *App) worker(p Parts) (*outbox.Worker, error) {
	cfg := a.Config
	w := &outbox.Worker{
		Store:       a.Store,
		SMS:         p.SMS,
		Mail:        p.Mail,
		Events:      p.Events,
		Render:      p.Render,
		Clock:       a.Clock,
		Log:         a.Logger.With("component", "outbox"),
		MaxAttempts: cfg.OutboxMaxAttempts,
		Poll:        cfg.OutboxPoll,
		Devbox:      a.Devbox,
	}
	if urls := cfg.WebhookURLList(); w.Events == nil && len(urls) > 0 {
		hooks, err := webhook.NewSender(urls, cfg.WebhookSecret, nil, a.Clock)
		if err != nil {
			return nil, err
		}
		w.Events = hooks
	}
	if w.SMS == nil {
		switch cfg.SMSGateway {
		case "http":
			g, err := sms.NewHTTPGateway(cfg.SMSURL, cfg.SMSSecret, nil, a.Clock)
			if err != nil {
				return nil, err
			}
			w.SMS = g
		default:
			w.SMS = sms.LogGateway{Log: w.Log}
		}
	}
	if w.Mail == nil {
		if cfg.SMTPURL == "" {
			w.Mail = mail.LogSender{Log: w.Log}
			return w, nil
		}
		set, err := mail.ParseURL(cfg.SMTPURL)
		if err != nil {
			return nil, err
		}
		if w.Mail, err = mail.NewSMTP(set, cfg.MailFrom); err != nil {
			return nil, err
		}
	}
	return w, nil
}

// WarnDevelopmentChannels logs, for serve, which messages go to the log instead of being sent:
// fine with --demo, a mistake in production.
func (a *App) WarnDevelopmentChannels() {
	if a.Config.Demo {
		return
	}
	if _, ok := a.Worker.SMS.(sms.LogGateway); ok {
		a.Logger.Warn("sms-gateway=log: text messages, codes included, go to the log and are not sent; development only")
	}
	if _, ok := a.Worker.Mail.(mail.LogSender); ok {
		a.Logger.Warn("no smtp-url: email, codes included, goes to the log and is not sent; development only")
	}
}

// CheckDelivery connects to the configured SMTP server and SMS gateway, as a send would and
// sending nothing, so that serve does not start with settings that can never deliver while pages
// say that codes were sent and the outbox retries in silence. A problem that retrying cannot cure
// (no STARTTLS where smtp:// requires it, a refused certificate or password) is returned, with
// what to change; a server that cannot be reached now is logged at ERROR with the same advice, and
// serve starts: the outbox keeps the messages and retries. The log channels are not checked.
func (a *App) CheckDelivery(ctx context.Context) error {
	type checker interface{ Check(context.Context) error }
	type problem interface {
		Permanent() bool
		Fix() string
	}
	var refused []error
	for _, ch := range []struct {
		flag    string
		channel any
	}{{"--smtp-url", a.Worker.Mail}, {"--sms-url", a.Worker.SMS}} {
		c, ok := ch.channel.(checker)
		if !ok {
			continue
		}
		err := c.Check(ctx)
		var p problem
		switch {
		case err == nil:
			a.Logger.Info("delivery settings checked: connected", "setting", ch.flag)
		case errors.As(err, &p) && !p.Permanent():
			a.Logger.Error("delivery settings: cannot connect now; messages wait in the outbox and are retried", "setting", ch.flag, "err", err)
		default:
			refused = append(refused, fmt.Errorf("%s: %w", ch.flag, err))
		}
	}
	if len(refused) > 0 {
		return fmt.Errorf("delivery settings cannot work: %w", errors.Join(refused...))
	}
	return nil
}

// Open reads the keys (generating development keys into --data-dir when allowDevKeys), opens the
// database of --database-url and applies its pending migrations: the infrastructure of a process,
// for New. The caller closes the store.
func Open(ctx context.Context, cfg config.Config, log *slog.Logger, allowDevKeys bool) (keyring.Keys, *store.SQL, error) {
	env := keyring.Env{Session: cfg.SessionKey, Token: cfg.TokenKey, Hash: cfg.HashKey, Encryption: cfg.EncryptionKeys, VAPID: cfg.VAPIDKey}
	keys, generated, err := keyring.Load(env, cfg.DataDir, allowDevKeys)
	if err != nil {
		return keyring.Keys{}, nil, err
	}
	if generated {
		log.Warn("generated development keys; configure SMSRETIRE_*_KEY(S) in production", "dir", cfg.DataDir)
	} else if !env.Configured() {
		log.Warn("using development keys from the data directory", "dir", cfg.DataDir)
	}
	db, err := config.ParseDatabaseURL(cfg.DatabaseURL)
	if err != nil {
		return keyring.Keys{}, nil, err
	}
	st, err := store.Open(ctx, db)
	if err != nil {
		return keyring.Keys{}, nil, err
	}
	if err := st.Migrate(ctx); err != nil {
		st.Close()
		return keyring.Keys{}, nil, err
	}
	return keys, st, nil
}

// Rules returns the campaign's deadline rules: which ways verify in the grace days after a
// user's deadline and after them.
func (a *App) Rules() campaign.Rules {
	return campaign.Rules{GraceDays: a.Config.Campaign.GraceDays, Location: a.Config.Location()}
}

// StaffSetupPath is where a staff member's one-time setup link leads, with the link's token after
// it (web's staff setup route).
const StaffSetupPath = "/staff/setup/"

// StaffSSOCallbackPath is where the company's provider sends staff back to (web's route): the
// redirect URI to register there is BaseURL + StaffSSOCallbackPath.
const StaffSSOCallbackPath = "/staff/signin/sso/callback"

// StaffSetupLink returns the absolute URL of a staff member's one-time setup link: what `smsretire
// staff add` prints and the admin's page shows.
func (a *App) StaffSetupLink(token string) string {
	return a.Config.BaseURL + StaffSetupPath + token
}

// NoticeLink returns the absolute URL of a user's personal notice, signed for --notice-link-ttl
// from now: what operators send and `smsretire notice-link` prints. Its path is web's
// notice.show route.
func (a *App) NoticeLink(userID string) string {
	return a.Config.BaseURL + "/notice/" + a.Notices.Sign(userID, a.Clock.Now().Add(a.Config.NoticeLinkTTL))
}

// ApprovePath is where an approver answers a request under --base-url (web's approve routes): a
// notification opens ApprovePath + "/" + the request's ID.
const ApprovePath = "/approve"

// pushWords builds the notification of a request in the user's language: what is asking — the
// browser and system, the IP address, the time — and where to answer it; never the number.
func (a *App) pushWords(ctx context.Context, userID string, r approval.Request) push.Payload {
	lang := ""
	if u, err := a.Store.UserByID(ctx, userID); err == nil {
		lang = i18n.Supported(u.Locale)
	}
	if lang == "" {
		lang = i18n.Chinese
	}
	t := a.Catalog.For(lang)
	d := useragent.Parse(r.UserAgent)
	device := t.Device(d.Browser, d.System)
	if device == "" {
		device = t.T("approval.asking.unknown_device")
	}
	return push.Payload{ID: r.ID, URL: ApprovePath + "/" + r.ID, Browser: d.Browser, System: d.System, IP: r.IP, CreatedAt: r.CreatedAt.UnixMilli(),
		Title: t.T("approval.push.title"),
		Body:  t.Tf("approval.push.body", map[string]any{"Device": device, "IP": r.IP, "Time": r.CreatedAt.In(a.Config.Location()).Format("15:04")}),
	}
}
