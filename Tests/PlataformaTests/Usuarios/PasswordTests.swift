import Fluent
import Foundation
import Testing
import Vapor
import VaporTesting
@testable import Plataforma

@Suite("Password hashing and validation")
struct PasswordTests {
    /// Made with Python's hashlib exactly as Django 4.2 formats them.
    static let django600k = "pbkdf2_sha256$600000$GqBCLjrnTGZtp1O5bMzwuY$tVSToYeacv8sUknTZgbBf4x8Q1wHakqYZ05dt/yZcPc="
    static let django260k = "pbkdf2_sha256$260000$GqBCLjrnTGZtp1O5bMzwuY$r0N2Q7JCMGy3tF901+pkR/XycM5luUkwXXieyBFuw+Y="

    @Test("Django's PBKDF2 hashes verify; our hashes are in Django's format")
    func djangoFormat() throws {
        #expect(PasswordHasher.verify("Contrasena-Django-42", against: Self.django600k))
        #expect(PasswordHasher.verify("Contrasena-Django-42", against: Self.django260k))
        #expect(!PasswordHasher.verify("contrasena-django-42", against: Self.django600k))
        #expect(!PasswordHasher.needsRehash(Self.django600k))
        #expect(PasswordHasher.needsRehash(Self.django260k))
        let ours = try PasswordHasher.hash("Una-Clave-Cualquiera-9")
        let parts = ours.split(separator: "$")
        #expect(parts.count == 4 && parts[0] == "pbkdf2_sha256" && parts[1] == "600000" && parts[2].count == 22)
        #expect(PasswordHasher.verify("Una-Clave-Cualquiera-9", against: ours))
        for broken in ["", "!", "!unusable", "pbkdf2_sha256$abc$salt$hash", "md5$x$y", "pbkdf2_sha256$0$s$h"] {
            #expect(!PasswordHasher.verify("", against: broken))
        }
    }

    @Test("Django's bcrypt and bcrypt_sha256 hashes verify")
    func djangoBcrypt() throws {
        let plain = "bcrypt$" + (try Bcrypt.hash("Clave-Antigua-55", cost: 4))
        #expect(PasswordHasher.verify("Clave-Antigua-55", against: plain))
        #expect(!PasswordHasher.verify("otra", against: plain))
        let digest = SHA256.hash(data: Data("Clave-Antigua-55".utf8)).map { String(format: "%02x", $0) }.joined()
        let sha = "bcrypt_sha256$" + (try Bcrypt.hash(digest, cost: 4))
        #expect(PasswordHasher.verify("Clave-Antigua-55", against: sha))
        #expect(PasswordHasher.needsRehash(sha))
    }

    @Test("an account moved from Django logs in with its old password and is re-hashed")
    func rehashOnLogin() async throws {
        try await withApp { t in
            let user = try await t.makeUser(email: "heredada@example.com", passwordHash: Self.django260k)
            let res = try await t.send(.POST, "/api/token/", json: ["email": "heredada@example.com", "password": "Contrasena-Django-42"])
            #expect(res.status == .ok)
            let stored = try #require(try await Usuario.find(user.id, on: t.db))
            #expect(stored.password.hasPrefix("pbkdf2_sha256$600000$"))
            #expect(PasswordHasher.verify("Contrasena-Django-42", against: stored.password))
        }
    }

    @Test("Django's four validators, in Django's order, with its Spanish messages")
    func validators() {
        #expect(PasswordValidators.validate("Girasol-Tranquilo-77", email: "a@example.com", nombre: "Ana", apellidos: "Pérez").isEmpty)
        #expect(PasswordValidators.validate("1234", email: nil, nombre: nil, apellidos: nil) == [
            "Esta contraseña es demasiado corta. Debe contener al menos 8 caracteres.",
            "Esta contraseña es demasiado común.",
            "Esta contraseña es completamente numérica.",
        ])
        #expect(PasswordValidators.validate("Password", email: nil, nombre: nil, apellidos: nil) == ["Esta contraseña es demasiado común."])
        #expect(PasswordValidators.validate("98765432109", email: nil, nombre: nil, apellidos: nil) == ["Esta contraseña es completamente numérica."])
        #expect(PasswordValidators.validate("rodriguez77", email: "x@example.com", nombre: "Ana", apellidos: "Rodríguez") == [
            "La contraseña es demasiado similar a la de apellidos.",
        ])
    }
}
