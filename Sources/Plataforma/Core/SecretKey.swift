import Crypto
import Foundation

/// Resolves the signing secret: strong and explicit in production, generated and kept in development.
enum SecretKey {
    struct Problem: Error { let message: String }

    /// Keys that ship in tutorials and templates; never acceptable in production.
    private static let knownDefaults: Set<String> = [
        "changeme", "change-me", "secret", "secret-key", "secretkey", "your-secret-key",
        "django-insecure", "insecure", "development", "dev", "test", "password",
    ]

    /// Django's own rule (check_secret_key) plus our known-defaults list.
    static func weakness(of key: String) -> String? {
        if key.count < 50 { return "must be at least 50 characters" }
        if Set(key).count < 5 { return "must use at least 5 different characters" }
        if key.lowercased().hasPrefix("django-insecure") { return "is Django's insecure development key" }
        let lowered = key.lowercased()
        if knownDefaults.contains(where: { lowered == $0 || lowered.replacingOccurrences(of: $0, with: "").isEmpty }) {
            return "is a known default"
        }
        return nil
    }

    /// Where the development key is kept.
    static func developmentKeyPath(in dataDir: String) -> String {
        (dataDir as NSString).appendingPathComponent("secret_key")
    }

    static func resolve(explicit: String?, production: Bool, dataDir: String) throws -> String {
        if let explicit {
            if production, let weakness = weakness(of: explicit) {
                throw Problem(message: "refused in production: the key \(weakness)")
            }
            // HMAC-SHA256 keys shorter than the digest weaken the signature (and JWTKit traps on them).
            if explicit.utf8.count < 32 {
                throw Problem(message: "must be at least 32 characters (50 or more in production)")
            }
            return explicit
        }
        if production {
            throw Problem(message: "is required when APP_ENV=production (at least 50 characters)")
        }
        return try developmentKey(in: dataDir)
    }

    /// Reads `$DATA_DIR/secret_key`, creating it (mode 0600) on first use.
    private static func developmentKey(in dataDir: String) throws -> String {
        let path = developmentKeyPath(in: dataDir)
        let manager = FileManager.default
        if let data = manager.contents(atPath: path),
           let key = String(data: data, encoding: .utf8)?.trimmingCharacters(in: .whitespacesAndNewlines),
           key.utf8.count >= 50 {
            return key
        }
        do {
            try manager.createDirectory(atPath: dataDir, withIntermediateDirectories: true)
            let bytes = SymmetricKey(size: .bits256).withUnsafeBytes { Data($0) } + SymmetricKey(size: .bits256).withUnsafeBytes { Data($0) }
            let key = bytes.base64EncodedString()
                .replacingOccurrences(of: "+", with: "-")
                .replacingOccurrences(of: "/", with: "_")
                .replacingOccurrences(of: "=", with: "")
            guard manager.createFile(atPath: path, contents: Data(key.utf8), attributes: [.posixPermissions: 0o600]) else {
                throw Problem(message: "could not write a development key to \(path)")
            }
            return key
        } catch let problem as Problem {
            throw problem
        } catch {
            throw Problem(message: "could not create \(dataDir) for the development key")
        }
    }
}
