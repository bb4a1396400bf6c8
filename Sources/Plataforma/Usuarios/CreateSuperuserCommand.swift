import Fluent
import Vapor

/// `plataforma createsuperuser --email … --password …` (prompts for what is missing, or reads
/// `DJANGO_SUPERUSER_EMAIL` / `DJANGO_SUPERUSER_PASSWORD` with `--noinput`, as Django does).
struct CreateSuperuserCommand: AsyncCommand {
    struct Signature: CommandSignature {
        @Option(name: "email", help: "The administrator's email.")
        var email: String?
        @Option(name: "password", help: "The password (prompted for when absent).")
        var password: String?
        @Option(name: "nombre", help: "First name (default: Admin).")
        var nombre: String?
        @Option(name: "apellidos", help: "Last names.")
        var apellidos: String?
        @Flag(name: "noinput", help: "Never prompt; take missing values from DJANGO_SUPERUSER_*.")
        var noinput: Bool
        init() {}
    }

    var help: String { "Creates an administrator account." }

    struct Failure: Error, CustomStringConvertible { let description: String }

    func run(using context: CommandContext, signature: Signature) async throws {
        let environment = ProcessInfo.processInfo.environment
        let interactive = !signature.noinput
        var email = signature.email ?? environment["DJANGO_SUPERUSER_EMAIL"]
        if email == nil, interactive { email = context.console.ask("Email: ") }
        var password = signature.password ?? environment["DJANGO_SUPERUSER_PASSWORD"]
        if password == nil, interactive {
            // Hidden input needs a terminal; piped input is read as plain lines.
            let secure = isatty(STDIN_FILENO) == 1
            let first = context.console.ask("Contraseña: ", isSecure: secure)
            let second = context.console.ask("Contraseña (otra vez): ", isSecure: secure)
            guard first == second else { throw Failure(description: "Las contraseñas no coinciden.") }
            password = first
        }
        guard let email, let password else {
            throw Failure(description: "Faltan --email y --password (o DJANGO_SUPERUSER_EMAIL y DJANGO_SUPERUSER_PASSWORD).")
        }
        let user = try await Self.createSuperuser(
            email: email, password: password, nombre: signature.nombre ?? "Admin", apellidos: signature.apellidos ?? "",
            on: context.application.db)
        context.console.print("Superusuario creado: \(user.email) (id \(user.id ?? 0)).")
    }

    /// Validates like the API does (email shape, uniqueness, Django's password validators) and creates the admin.
    static func createSuperuser(email: String, password: String, nombre: String, apellidos: String,
                                on database: any Database) async throws -> Usuario {
        let trimmed = email.trimmingCharacters(in: .whitespacesAndNewlines)
        guard EmailAddress.isValid(trimmed) else {
            throw Failure(description: "Introduzca una dirección de correo electrónico válida.")
        }
        if try await UsuarioRules.emailTaken(trimmed, excluding: nil, on: database) {
            throw Failure(description: UsuarioRules.duplicateEmail)
        }
        let problems = PasswordValidators.validate(password, email: trimmed, nombre: nombre, apellidos: apellidos)
        guard problems.isEmpty else { throw Failure(description: problems.joined(separator: "\n")) }
        let user = Usuario(email: EmailAddress.normalize(trimmed), passwordHash: try PasswordHasher.hash(password),
                           nombre: nombre, apellidos: apellidos, rol: .admin)
        try await user.create(on: database)
        return user
    }
}
