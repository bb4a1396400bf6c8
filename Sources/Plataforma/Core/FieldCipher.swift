import Crypto
import Foundation

/// AES-256-GCM for columns that must never be stored in clear (SPEC §7). Values are written as
/// `enc:v1:<key id>:<base64(nonce | ciphertext | tag)>`; the key id (first 8 hex digits of the
/// key's SHA-256) picks the decryption key, so a key list can rotate: encrypt with the first,
/// decrypt with any.
public struct FieldCipher: Sendable {
    struct Key: Sendable {
        let id: String
        let key: SymmetricKey
    }

    public struct Failure: Error, CustomStringConvertible {
        public let description: String
    }

    let keys: [Key]
    static let prefix = "enc:v1:"

    /// Keys from `FIELD_ENCRYPTION_KEY` (base64 of 32 bytes, comma-separated), else derived from
    /// the secret key with HKDF-SHA256.
    public init(configured: String?, secretKey: String) throws {
        if let configured, !configured.isEmpty {
            var keys: [Key] = []
            for part in configured.split(separator: ",").map({ $0.trimmingCharacters(in: .whitespaces) }) {
                guard let data = Data(base64Encoded: part), data.count == 32 else {
                    throw Failure(description: "each key must be base64 of exactly 32 bytes")
                }
                keys.append(Self.makeKey(SymmetricKey(data: data)))
            }
            self.keys = keys
        } else {
            let derived = HKDF<SHA256>.deriveKey(
                inputKeyMaterial: SymmetricKey(data: Data(secretKey.utf8)),
                salt: Data("plataforma.field-encryption".utf8), info: Data("v1".utf8), outputByteCount: 32)
            self.keys = [Self.makeKey(derived)]
        }
    }

    private static func makeKey(_ key: SymmetricKey) -> Key {
        let digest = key.withUnsafeBytes { SHA256.hash(data: Data($0)) }
        return Key(id: digest.prefix(4).map { String(format: "%02x", $0) }.joined(), key: key)
    }

    var currentKeyID: String { keys[0].id }

    /// The ids of the configured keys, the encrypting one first.
    public var keyIDs: [String] { keys.map(\.id) }

    public func encrypt(_ plaintext: String) throws -> String {
        let sealed = try AES.GCM.seal(Data(plaintext.utf8), using: keys[0].key)
        guard let combined = sealed.combined else { throw Failure(description: "could not seal") }
        return Self.prefix + keys[0].id + ":" + combined.base64EncodedString()
    }

    public func encrypt(_ plaintext: String?) throws -> String? {
        try plaintext.map { try encrypt($0) }
    }

    public func decrypt(_ stored: String) throws -> String {
        guard stored.hasPrefix(Self.prefix) else { throw Failure(description: "value is not encrypted") }
        let parts = stored.dropFirst(Self.prefix.count).split(separator: ":", maxSplits: 1)
        guard parts.count == 2, let data = Data(base64Encoded: String(parts[1])) else {
            throw Failure(description: "malformed encrypted value")
        }
        guard let key = keys.first(where: { $0.id == parts[0] }) else {
            throw Failure(description: "no configured key matches id \(parts[0])")
        }
        let box = try AES.GCM.SealedBox(combined: data)
        guard let text = String(data: try AES.GCM.open(box, using: key.key), encoding: .utf8) else {
            throw Failure(description: "decrypted value is not UTF-8")
        }
        return text
    }

    public func decrypt(_ stored: String?) throws -> String? {
        try stored.map { try decrypt($0) }
    }

    /// Whether `stored` was written with a key other than the current one.
    func needsRotation(_ stored: String) -> Bool {
        !stored.hasPrefix(Self.prefix + currentKeyID + ":")
    }
}
