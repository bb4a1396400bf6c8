import Foundation
import Testing
@testable import Plataforma

@Suite("Configuration")
struct SettingsTests {
    static func tempDir() -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("settings-\(UUID())").path
    }

    @Test("defaults: SQLite under DATA_DIR, port 8000 on 127.0.0.1, SimpleJWT lifetimes and DRF throttles")
    func defaults() throws {
        let dir = Self.tempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let settings = try Settings.load(from: ["DATA_DIR": dir])
        #expect(settings.database == .sqlite(path: dir + "/db.sqlite3"))
        #expect(settings.host == "127.0.0.1" && settings.port == 8000)
        #expect(settings.accessTokenLifetime == 300 && settings.refreshTokenLifetime == 86_400)
        #expect(settings.rotateRefreshTokens && settings.blacklistAfterRotation && settings.refreshReuseGraceSeconds == 10)
        #expect(settings.throttleLoginFailures == Rate(count: 5, seconds: 900))
        #expect(settings.throttleLoginIP == Rate(count: 20, seconds: 60))
        #expect(settings.throttleAnon == Rate(count: 100, seconds: 60))
        #expect(settings.throttleUser == Rate(count: 1_000, seconds: 60))
        #expect(settings.corsAllowedOrigins == ["http://localhost:5173"])
        #expect(settings.cookieSecure)
        #expect(settings.timeZone.secondsFromGMT() == 0)
    }

    @Test("in development a missing secret key is generated once under DATA_DIR and kept")
    func developmentKey() throws {
        let dir = Self.tempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let first = try Settings.load(from: ["DATA_DIR": dir]).secretKey
        let second = try Settings.load(from: ["DATA_DIR": dir]).secretKey
        #expect(first.count >= 50)
        #expect(first == second)
        let attributes = try FileManager.default.attributesOfItem(atPath: dir + "/secret_key")
        #expect((attributes[.posixPermissions] as? NSNumber)?.intValue == 0o600)
        #expect(try Settings.load(from: ["DATA_DIR": dir, "DJANGO_SECRET_KEY": String(repeating: "k", count: 40)]).secretKey.count == 40)
    }

    @Test("production refuses a missing, short or known-default secret key")
    func productionKey() throws {
        let dir = Self.tempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        for key in [nil, "corta", "django-insecure-" + String(repeating: "a1b2c3", count: 10), String(repeating: "ab", count: 30)] {
            var environment = ["APP_ENV": "production", "DATA_DIR": dir]
            environment["SECRET_KEY"] = key
            #expect(throws: ConfigurationError.self) { try Settings.load(from: environment) }
        }
        let strong = "k8#Qw2!zR7@pL5^mN1&bV4*cX9(jH6)tY3_uE0+oI" + "fG2-sD8=aZ"
        let settings = try Settings.load(from: ["APP_ENV": "production", "DATA_DIR": dir, "SECRET_KEY": strong])
        #expect(settings.secretKey == strong)
        #expect(!FileManager.default.fileExists(atPath: dir + "/secret_key"))
    }

    @Test("every invalid variable is named at once, and no secret value is echoed")
    func invalidVariables() throws {
        let secret = "s3cr3t-" + String(repeating: "z", count: 10)
        do {
            _ = try Settings.load(from: [
                "PORT": "ochenta", "THROTTLE_ANON": "mucho", "COOKIE_SECURE": "tal vez", "TIME_ZONE": "Marte/Olympus",
                "DATABASE_URL": "mysql://x", "TRUSTED_PROXIES": "10.0.0.0/99", "SECRET_KEY": secret, "APP_ENV": "staging",
            ])
            Issue.record("expected a ConfigurationError")
        } catch let error as ConfigurationError {
            let names = error.problems.map { String($0.prefix(while: { $0 != ":" })) }
            #expect(Set(names) == ["PORT", "THROTTLE_ANON", "COOKIE_SECURE", "TIME_ZONE", "DATABASE_URL", "TRUSTED_PROXIES", "APP_ENV"])
            #expect(!error.description.contains(secret))
        }
    }

    @Test("DATABASE_URL picks PostgreSQL or an explicit SQLite file")
    func databaseURL() throws {
        let dir = Self.tempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let pg = try Settings.load(from: ["DATA_DIR": dir, "DATABASE_URL": "postgres://u:p@db:5432/app", "DATABASE_POOL_SIZE": "24"])
        #expect(pg.database == .postgres(url: "postgres://u:p@db:5432/app", searchPath: nil))
        #expect(pg.databasePoolSize == 24)
        let file = try Settings.load(from: ["DATA_DIR": dir, "DATABASE_URL": "sqlite:///var/lib/app/db.sqlite3"])
        #expect(file.database == .sqlite(path: "/var/lib/app/db.sqlite3"))
        #expect(throws: ConfigurationError.self) { try Settings.load(from: ["DATA_DIR": dir, "DATABASE_URL": "sqlite://relative.db"]) }
    }

    @Test(".env parsing: comments, export, quotes; the process environment wins")
    func dotEnv() {
        let parsed = DotEnv.parse("""
            # comentario
            export SECRET_KEY="con espacios y # almohadilla"
            PORT=9000 # puerto
            CORS_ALLOWED_ORIGINS='http://a.test,http://b.test'
            VACIA=
            sin-igual
            """)
        #expect(parsed["SECRET_KEY"] == "con espacios y # almohadilla")
        #expect(parsed["PORT"] == "9000")
        #expect(parsed["CORS_ALLOWED_ORIGINS"] == "http://a.test,http://b.test")
        #expect(parsed["VACIA"] == "")
        #expect(parsed.count == 4)
    }

    @Test("TRUSTED_PROXIES ranges, IPv4 and IPv6")
    func networks() throws {
        let v4 = try #require(IPNetwork("10.0.0.0/8"))
        #expect(v4.contains("10.200.3.4") && !v4.contains("11.0.0.1") && !v4.contains("basura"))
        #expect(v4.contains("::ffff:10.1.2.3"))
        let v6 = try #require(IPNetwork("fd00::/8"))
        #expect(v6.contains("fd12::1") && !v6.contains("fe80::1"))
        #expect(IPNetwork("127.0.0.1")?.contains("127.0.0.1") == true)
        #expect(IPNetwork("127.0.0.1")?.contains("127.0.0.2") == false)
        #expect(IPNetwork("300.1.1.1") == nil && IPNetwork("10.0.0.0/33") == nil)
    }
}
