import Fluent
import Foundation
import NIOConcurrencyHelpers
@testable import Plataforma

/// The password every fixture account has; hashed once per process (PBKDF2 at 600,000 rounds is slow on purpose).
let fixturePassword = "Mentoria-Segura-2026"

private let fixtureHash = NIOLockedValueBox<String?>(nil)

func fixturePasswordHash() throws -> String {
    try fixtureHash.withLockedValue { cached in
        if let cached { return cached }
        let hash = try PasswordHasher.hash(fixturePassword)
        cached = hash
        return hash
    }
}

extension TestApp {
    /// Creates an account directly in the database.
    @discardableResult
    func makeUser(_ rol: Rol = .mentor, email: String? = nil, nombre: String = "Ana", apellidos: String = "Pérez",
                  activo: Bool = true, passwordHash: String? = nil) async throws -> Usuario {
        let user = Usuario(
            email: email ?? "\(rol.rawValue)-\(UUID().uuidString.prefix(8).lowercased())@example.com",
            passwordHash: try passwordHash ?? fixturePasswordHash(), nombre: nombre, apellidos: apellidos, rol: rol,
            activo: activo)
        try await user.create(on: db)
        return user
    }

    /// An access token for `user`, minted the way `/api/token/` does.
    func accessToken(for user: Usuario) async throws -> String {
        try await tokens.issuePair(for: user, on: db).access
    }

    /// A full pair for `user`.
    func pair(for user: Usuario) async throws -> TokenPair {
        try await tokens.issuePair(for: user, on: db)
    }

    /// A user of `rol` and an access token for them.
    func userWithToken(_ rol: Rol) async throws -> (Usuario, String) {
        let user = try await makeUser(rol)
        return (user, try await accessToken(for: user))
    }
}
