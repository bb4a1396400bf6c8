import Fluent
import FluentKit
import Vapor

/// The rules of an account that more than one endpoint applies.
enum UsuarioRules {
    static let duplicateEmail = "Ya existe un usuario con este email."

    /// Stores a new password hash and ends every login made with the old one.
    static func setPassword(_ hash: String, for user: Usuario, on database: any Database, tokens: TokenService) async throws {
        user.password = hash
        user.tokenVersion += 1
        user.passwordCambiado = Date()
        try await user.save(on: database)
        try await tokens.revokeAll(userID: try user.requireID(), reason: "password", on: database)
    }

    /// Whether another account already holds this email (case-insensitive).
    static func emailTaken(_ email: String, excluding id: Int?, on database: any Database) async throws -> Bool {
        var query = Usuario.query(on: database).filter(\.$emailClave == EmailAddress.lookupKey(email))
        if let id { query = query.filter(\.$id != id) }
        return try await query.count() > 0
    }

    /// Runs a write; a unique-index violation (two requests racing for one email) becomes the 400
    /// the pre-check would have given.
    static func savingUnique<T>(_ work: () async throws -> T) async throws -> T {
        try await mappingConstraintFailure(to: .field("email", duplicateEmail), work)
    }
}
