import Vapor

/// The services one application holds, created once by `configure` (no globals).
extension Application {
    private struct SettingsKey: StorageKey { typealias Value = Settings }
    private struct RateLimitsKey: StorageKey { typealias Value = any RateLimitStore }

    public var settings: Settings {
        get {
            guard let settings = storage[SettingsKey.self] else { fatalError("configure(_:settings:) has not run") }
            return settings
        }
        set { storage[SettingsKey.self] = newValue }
    }

    private struct FieldCipherKey: StorageKey { typealias Value = FieldCipher }

    /// Encrypts and decrypts the columns listed in `EncryptedColumns`.
    public var fieldCipher: FieldCipher {
        get {
            guard let cipher = storage[FieldCipherKey.self] else { fatalError("configure(_:settings:) has not run") }
            return cipher
        }
        set { storage[FieldCipherKey.self] = newValue }
    }

    public var rateLimits: any RateLimitStore {
        get { storage[RateLimitsKey.self] ?? MemoryRateLimitStore() }
        set { storage[RateLimitsKey.self] = newValue }
    }
}
