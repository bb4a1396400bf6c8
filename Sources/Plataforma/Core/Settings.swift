import Foundation
import Logging
import NIOCore

/// Where the data lives: the embedded SQLite file or a PostgreSQL server.
public enum DatabaseSetting: Sendable, Equatable {
    case sqlite(path: String)
    case postgres(url: String, searchPath: [String]?)

    public var isSQLite: Bool { if case .sqlite = self { true } else { false } }
}

/// Output format of the structured log lines.
public enum LogFormat: String, Sendable {
    case json, text
}

/// Every setting the service reads, parsed and checked once at start-up (SPEC §8).
public struct Settings: Sendable {
    public var appEnv: String
    public var secretKey: String
    /// `$DATA_DIR/secret_key` when the secret key was generated there (development), else nil.
    public var secretKeyFile: String?
    public var dataDir: String
    public var database: DatabaseSetting
    public var databasePoolSize: Int
    /// Seconds a request waits for a pooled connection before answering 503.
    public var databasePoolTimeout: Int
    /// Seconds opening one PostgreSQL connection may take (TCP, TLS, start-up, authentication).
    public var databaseConnectTimeout: Int
    /// `DATABASE_APPLICATION_NAME`: how this server's connections show in `pg_stat_activity`.
    public var databaseApplicationName: String
    /// `DATABASE_HOLD_TIMEOUT`: seconds one statement or transaction of a request may hold a
    /// PostgreSQL connection before it is closed (a hung server, a silent network); 0 turns it off.
    public var databaseHoldTimeout: Int
    /// `DATABASE_PREPARED_STATEMENTS`: prepare repeated statements once per connection; off behind a
    /// pooler in transaction mode, where a connection's prepared statements are not its own.
    public var databasePreparedStatements: Bool
    /// `REDIS_URL`: rate limits, the revocation fast path and the métricas cache shared by replicas.
    public var redis: RedisConfiguration?
    /// `REDIS_PREFIX`: the key prefix; replicas of one deployment share it.
    public var redisPrefix: String
    /// `METRICAS_CACHE`: keep `/api/metricas/` answers under the database snapshot or Redis
    /// generation (default true; false computes every answer, e.g. to measure that path).
    public var metricasCache: Bool
    /// `METRICS_TOKEN`: a bearer token that opens `/metrics` from anywhere.
    public var metricsToken: String?
    /// `SENTRY_DSN`: where 5xx and unhandled errors are reported (envelope API).
    public var sentry: SentryDSN?
    public var host: String
    public var port: Int
    public var corsAllowedOrigins: [String]
    public var rotateRefreshTokens: Bool
    public var blacklistAfterRotation: Bool
    public var refreshReuseGraceSeconds: Int
    public var accessTokenLifetime: TimeInterval
    public var refreshTokenLifetime: TimeInterval
    public var throttleLoginFailures: Rate?
    public var throttleLoginIP: Rate?
    public var throttleAnon: Rate?
    public var throttleUser: Rate?
    public var trustedProxies: [IPNetwork]
    public var cookieSecure: Bool
    public var timeZone: TimeZone
    public var logLevel: Logger.Level
    public var logFormat: LogFormat
    public var maxJSONBodyBytes: Int
    /// `FIELD_ENCRYPTION_KEY`: base64 keys, comma-separated (first encrypts); nil derives one from the secret key.
    public var fieldEncryptionKey: String?
    /// `MEDIA_ROOT`: where uploaded bytes live (default `$DATA_DIR/media`).
    public var mediaRoot: String
    /// `MAX_UPLOAD_MB`, in bytes: the largest file one upload may carry.
    public var maxUploadBytes: Int
    /// `USER_QUOTA_MB`, in bytes: what one user's stored files may add up to.
    public var userQuotaBytes: Int

    public var isProduction: Bool { appEnv == "production" }

    /// Reads the settings from `environment` (the process environment merged with `.env`).
    /// Every invalid variable is reported at once; in development a missing secret key is
    /// created under `DATA_DIR` and kept there.
    public static func load(from environment: [String: String]) throws -> Settings {
        var reader = EnvironmentReader(environment)
        let appEnv = reader.string("APP_ENV", default: "development").lowercased()
        let dataDir = reader.string("DATA_DIR", default: "./data")
        let database = reader.database(dataDir: dataDir)
        let settings = Settings(
            appEnv: appEnv,
            secretKey: "",
            secretKeyFile: nil,
            dataDir: dataDir,
            database: database,
            databasePoolSize: reader.int("DATABASE_POOL_SIZE", default: 16, range: 1...512),
            databasePoolTimeout: reader.int("DATABASE_POOL_TIMEOUT", default: 10, range: 1...600),
            databaseConnectTimeout: reader.int("DATABASE_CONNECT_TIMEOUT", default: 5, range: 1...120),
            databaseApplicationName: reader.string("DATABASE_APPLICATION_NAME", default: "plataforma"),
            databaseHoldTimeout: reader.int("DATABASE_HOLD_TIMEOUT", default: 30, range: 0...86_400),
            databasePreparedStatements: reader.bool("DATABASE_PREPARED_STATEMENTS", default: true),
            redis: reader.redis("REDIS_URL"),
            redisPrefix: reader.string("REDIS_PREFIX", default: "plataforma:"),
            metricasCache: reader.bool("METRICAS_CACHE", default: true),
            metricsToken: reader.optionalString("METRICS_TOKEN"),
            sentry: reader.sentry("SENTRY_DSN"),
            host: reader.string("HOST", default: "127.0.0.1"),
            port: reader.int("PORT", default: 8000, range: 1...65535),
            corsAllowedOrigins: reader.list("CORS_ALLOWED_ORIGINS", default: ["http://localhost:5173"]),
            rotateRefreshTokens: reader.bool("SIMPLE_JWT_ROTATE_REFRESH_TOKENS", default: true),
            blacklistAfterRotation: reader.bool("SIMPLE_JWT_BLACKLIST_AFTER_ROTATION", default: true),
            refreshReuseGraceSeconds: reader.int("REFRESH_REUSE_GRACE_SECONDS", default: 10, range: 0...86_400),
            accessTokenLifetime: TimeInterval(reader.int("ACCESS_TOKEN_LIFETIME_MINUTES", default: 5, range: 1...1_440) * 60),
            refreshTokenLifetime: TimeInterval(reader.int("REFRESH_TOKEN_LIFETIME_DAYS", default: 1, range: 1...365) * 86_400),
            throttleLoginFailures: reader.rate("THROTTLE_LOGIN_FAILURES", default: "5/15min"),
            throttleLoginIP: reader.rate("THROTTLE_LOGIN_IP", default: "20/min"),
            throttleAnon: reader.rate("THROTTLE_ANON", default: "100/min"),
            throttleUser: reader.rate("THROTTLE_USER", default: "1000/min"),
            trustedProxies: reader.networks("TRUSTED_PROXIES"),
            cookieSecure: reader.bool("COOKIE_SECURE", default: true),
            timeZone: reader.timeZone("TIME_ZONE", default: "UTC"),
            logLevel: reader.logLevel("LOG_LEVEL", default: .info),
            logFormat: reader.logFormat("LOG_FORMAT", default: .json),
            maxJSONBodyBytes: 1_048_576,
            fieldEncryptionKey: reader.optionalString("FIELD_ENCRYPTION_KEY"),
            mediaRoot: reader.string("MEDIA_ROOT", default: (dataDir as NSString).appendingPathComponent("media")),
            maxUploadBytes: reader.int("MAX_UPLOAD_MB", default: 25, range: 1...10_240) * 1_048_576,
            userQuotaBytes: reader.int("USER_QUOTA_MB", default: 500, range: 1...10_485_760) * 1_048_576
        )
        if !["development", "production", "testing"].contains(appEnv) {
            reader.fail("APP_ENV", "must be development, production or testing")
        }
        var result = settings
        if reader.problems.isEmpty {
            do {
                let explicit = reader.optionalString("SECRET_KEY") ?? reader.optionalString("DJANGO_SECRET_KEY")
                result.secretKey = try SecretKey.resolve(explicit: explicit, production: settings.isProduction, dataDir: dataDir)
                if explicit == nil { result.secretKeyFile = SecretKey.developmentKeyPath(in: dataDir) }
            } catch let error as SecretKey.Problem {
                reader.fail("SECRET_KEY", error.message)
            }
        }
        if let keys = result.fieldEncryptionKey {
            do { _ = try FieldCipher(configured: keys, secretKey: result.secretKey) } catch {
                reader.fail("FIELD_ENCRYPTION_KEY", "\(error)")
            }
        }
        guard reader.problems.isEmpty else { throw ConfigurationError(problems: reader.problems) }
        return result
    }

    /// The process environment with `.env` (when present in the working directory) underneath it.
    public static func processEnvironment(dotEnvPath: String = ".env") throws -> [String: String] {
        var merged: [String: String] = [:]
        if FileManager.default.fileExists(atPath: dotEnvPath) {
            let text = try String(contentsOfFile: dotEnvPath, encoding: .utf8)
            merged = DotEnv.parse(text)
        }
        for (key, value) in ProcessInfo.processInfo.environment { merged[key] = value }
        return merged
    }
}

/// Start-up stops on this, naming every variable that is missing or invalid.
public struct ConfigurationError: Error, CustomStringConvertible {
    public let problems: [String]
    public var description: String {
        "Invalid configuration:\n" + problems.map { "  - \($0)" }.joined(separator: "\n")
    }
}

/// Reads typed values out of an environment dictionary, collecting every problem.
struct EnvironmentReader {
    private let values: [String: String]
    private(set) var problems: [String] = []

    init(_ values: [String: String]) { self.values = values }

    mutating func fail(_ name: String, _ message: String) { problems.append("\(name): \(message)") }

    func optionalString(_ name: String) -> String? {
        guard let value = values[name]?.trimmingCharacters(in: .whitespaces), !value.isEmpty else { return nil }
        return value
    }

    func string(_ name: String, default fallback: String) -> String { optionalString(name) ?? fallback }

    mutating func int(_ name: String, default fallback: Int, range: ClosedRange<Int>) -> Int {
        guard let raw = optionalString(name) else { return fallback }
        guard let value = Int(raw), range.contains(value) else {
            fail(name, "expected a whole number in \(range.lowerBound)...\(range.upperBound), got \"\(raw)\"")
            return fallback
        }
        return value
    }

    mutating func bool(_ name: String, default fallback: Bool) -> Bool {
        guard let raw = optionalString(name) else { return fallback }
        switch raw.lowercased() {
        case "true", "1", "yes", "on": return true
        case "false", "0", "no", "off": return false
        default:
            fail(name, "expected True or False, got \"\(raw)\"")
            return fallback
        }
    }

    func list(_ name: String, default fallback: [String]) -> [String] {
        guard let raw = values[name] else { return fallback }
        return raw.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
    }

    mutating func sentry(_ name: String) -> SentryDSN? {
        guard let raw = optionalString(name) else { return nil }
        guard let dsn = SentryDSN(raw) else {
            fail(name, "expected https://<public key>@<host>/<project id>")
            return nil
        }
        return dsn
    }

    mutating func redis(_ name: String) -> RedisConfiguration? {
        guard let raw = optionalString(name), !raw.isEmpty else { return nil }
        do {
            return try RedisConfiguration(url: raw)
        } catch {
            fail(name, String(describing: error))
            return nil
        }
    }

    mutating func rate(_ name: String, default fallback: String) -> Rate? {
        let raw = optionalString(name) ?? fallback
        if raw.lowercased() == "none" { return nil }
        guard let rate = Rate(raw) else {
            fail(name, "expected a rate like 100/min or 5/15min (or None), got \"\(raw)\"")
            return Rate(fallback)
        }
        return rate
    }

    mutating func networks(_ name: String) -> [IPNetwork] {
        list(name, default: []).compactMap { entry in
            guard let network = IPNetwork(entry) else {
                fail(name, "\"\(entry)\" is not an IP address or CIDR range")
                return nil
            }
            return network
        }
    }

    mutating func timeZone(_ name: String, default fallback: String) -> TimeZone {
        let raw = optionalString(name) ?? fallback
        guard let zone = TimeZone(identifier: raw) else {
            fail(name, "unknown time zone \"\(raw)\"")
            return TimeZone(identifier: "UTC") ?? .current
        }
        return zone
    }

    mutating func logLevel(_ name: String, default fallback: Logger.Level) -> Logger.Level {
        guard let raw = optionalString(name) else { return fallback }
        guard let level = Logger.Level(rawValue: raw.lowercased()) else {
            fail(name, "expected trace, debug, info, notice, warning, error or critical")
            return fallback
        }
        return level
    }

    mutating func logFormat(_ name: String, default fallback: LogFormat) -> LogFormat {
        guard let raw = optionalString(name) else { return fallback }
        guard let format = LogFormat(rawValue: raw.lowercased()) else {
            fail(name, "expected json or text")
            return fallback
        }
        return format
    }

    mutating func database(dataDir: String) -> DatabaseSetting {
        guard let raw = optionalString("DATABASE_URL") else {
            return .sqlite(path: (dataDir as NSString).appendingPathComponent("db.sqlite3"))
        }
        if raw.hasPrefix("sqlite://") {
            let path = String(raw.dropFirst("sqlite://".count))
            guard path.hasPrefix("/"), path.count > 1 else {
                fail("DATABASE_URL", "a SQLite URL names an absolute path: sqlite:///abs/path.sqlite3")
                return .sqlite(path: (dataDir as NSString).appendingPathComponent("db.sqlite3"))
            }
            return .sqlite(path: path)
        }
        if raw.hasPrefix("postgres://") || raw.hasPrefix("postgresql://") {
            return .postgres(url: raw, searchPath: nil)
        }
        fail("DATABASE_URL", "expected postgres://… or sqlite:///…")
        return .sqlite(path: (dataDir as NSString).appendingPathComponent("db.sqlite3"))
    }
}

/// Parses `.env` files: `KEY=value` lines, `#` comments, optional `export`, single or double quotes.
enum DotEnv {
    static func parse(_ text: String) -> [String: String] {
        var result: [String: String] = [:]
        for rawLine in text.split(whereSeparator: \.isNewline) {
            var line = rawLine.trimmingCharacters(in: .whitespaces)
            if line.isEmpty || line.hasPrefix("#") { continue }
            if line.hasPrefix("export ") { line = String(line.dropFirst(7)).trimmingCharacters(in: .whitespaces) }
            guard let equals = line.firstIndex(of: "=") else { continue }
            let key = line[..<equals].trimmingCharacters(in: .whitespaces)
            var value = line[line.index(after: equals)...].trimmingCharacters(in: .whitespaces)
            if value.count >= 2, let first = value.first, first == "\"" || first == "'", value.last == first {
                value = String(value.dropFirst().dropLast())
            } else if let hash = value.range(of: " #") {
                value = value[..<hash.lowerBound].trimmingCharacters(in: .whitespaces)
            }
            if !key.isEmpty { result[key] = value }
        }
        return result
    }
}
