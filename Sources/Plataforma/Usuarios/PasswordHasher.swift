import Crypto
import CryptoExtras
import Foundation
import Vapor

/// Password hashes in Django's format, so accounts move between the two backends untouched (SPEC §3, §11).
/// New hashes are `pbkdf2_sha256$600000$<salt>$<hash>`; Django's bcrypt variants are accepted too.
public enum PasswordHasher {
    public static let algorithm = "pbkdf2_sha256"
    /// Django 4.2's default; hashes below it are upgraded at the next successful login.
    public static let iterations = 600_000

    private static let saltAlphabet = Array("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")

    public static func hash(_ password: String) throws -> String {
        var generator = SystemRandomNumberGenerator()
        let salt = String((0..<22).map { _ in saltAlphabet.randomElement(using: &generator) ?? "a" })
        let digest = try pbkdf2(password, salt: salt, iterations: iterations)
        return "\(algorithm)$\(iterations)$\(salt)$\(digest)"
    }

    /// Checks `password` against `encoded` in constant time for the digest comparison.
    public static func verify(_ password: String, against encoded: String) -> Bool {
        if encoded.hasPrefix("bcrypt_sha256$") {
            // Django pre-hashes with SHA-256 (hex) to get past bcrypt's 72-byte limit.
            let prehashed = SHA256.hash(data: Data(password.utf8)).map { String(format: "%02x", $0) }.joined()
            return (try? Bcrypt.verify(prehashed, created: String(encoded.dropFirst("bcrypt_sha256$".count)))) ?? false
        }
        if encoded.hasPrefix("bcrypt$") {
            return (try? Bcrypt.verify(password, created: String(encoded.dropFirst("bcrypt$".count)))) ?? false
        }
        let parts = encoded.split(separator: "$", omittingEmptySubsequences: false)
        guard parts.count == 4, parts[0] == algorithm, let rounds = Int(parts[1]), rounds > 0, rounds <= 10_000_000,
              let computed = try? pbkdf2(password, salt: String(parts[2]), iterations: rounds) else { return false }
        return constantTimeEquals(computed, String(parts[3]))
    }

    /// Django's `must_update`: another algorithm, or fewer iterations than today's.
    public static func needsRehash(_ encoded: String) -> Bool {
        let parts = encoded.split(separator: "$", omittingEmptySubsequences: false)
        guard parts.count == 4, parts[0] == algorithm, let rounds = Int(parts[1]) else { return true }
        return rounds < iterations
    }

    /// Spends the time of a real check, so a missing account can't be told from a wrong password.
    public static func burnEquivalentTime(_ password: String) {
        _ = try? pbkdf2(password, salt: "timingequalizersalt000", iterations: iterations)
    }

    static func pbkdf2(_ password: String, salt: String, iterations: Int) throws -> String {
        let key = try KDF.Insecure.PBKDF2.deriveKey(
            from: Array(password.utf8), salt: Array(salt.utf8), using: .sha256,
            outputByteCount: 32, unsafeUncheckedRounds: iterations)
        return key.withUnsafeBytes { Data($0).base64EncodedString() }
    }

    static func constantTimeEquals(_ lhs: String, _ rhs: String) -> Bool {
        let a = Array(lhs.utf8), b = Array(rhs.utf8)
        guard a.count == b.count else { return false }
        var difference: UInt8 = 0
        for index in 0..<a.count { difference |= a[index] ^ b[index] }
        return difference == 0
    }
}

extension Request {
    /// Runs password hashing off the event loop.
    func offload<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
        try await application.threadPool.runIfActive(work)
    }
}
