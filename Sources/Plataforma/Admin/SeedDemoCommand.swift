import Fluent
import Foundation
import SQLKit
import Vapor

/// `plataforma seed-demo [--mentores N] [--proyectos N] [--registros N]`: a realistic data set
/// for demos and benchmarks, written with multi-row INSERTs (1,000 rows a statement).
struct SeedDemoCommand: AsyncCommand {
    struct Signature: CommandSignature {
        @Option(name: "mentores", help: "Mentors to create (default 50).")
        var mentores: Int?
        @Option(name: "proyectos", help: "Projects to create (default 10).")
        var proyectos: Int?
        @Option(name: "registros", help: "Hour records to create (default 2000).")
        var registros: Int?
        init() {}
    }

    var help: String { "Creates demo mentors, projects, groups and hour records." }

    struct Counts: Sendable, Equatable {
        var mentores = 50
        var proyectos = 10
        var registros = 2_000
    }

    /// Every demo mentor account logs in with this password.
    static let demoPassword = "Demo-Mentoria-2026"
    static let batch = 1_000

    func run(using context: CommandContext, signature: Signature) async throws {
        var counts = Counts()
        counts.mentores = signature.mentores ?? counts.mentores
        counts.proyectos = signature.proyectos ?? counts.proyectos
        counts.registros = signature.registros ?? counts.registros
        guard counts.mentores >= 1, counts.proyectos >= 1, counts.registros >= 0, counts.mentores <= 1_000_000,
              counts.proyectos <= 100_000, counts.registros <= 50_000_000 else {
            throw CreateSuperuserCommand.Failure(description: "Los recuentos deben ser positivos (mentores y proyectos ≥ 1).")
        }
        let start = Date()
        let app = context.application
        try await Self.seed(counts, on: app.db, cipher: app.fieldCipher, today: LocalDate.today(in: app.settings.timeZone), progress: true)
        // The triggers kept the aggregates exact row by row; a bulk load leaves them bloated with
        // dead row versions, which the rebuild compacts (as any bulk load should end).
        try await MetricasQuery.rebuild(app)
        // Replicas serving cached métricas must not keep the figures from before the seed.
        await app.invalidateMetricasGeneration()
        context.console.print(String(format: "Datos de demostración creados en %.1f s: %d mentores, %d proyectos, %d registros.",
                                     Date().timeIntervalSince(start), counts.mentores, counts.proyectos, counts.registros))
        context.console.print("Las cuentas de mentor (m-…@demo.plataforma.test) entran con la contraseña \(Self.demoPassword).")
    }

    static let nombres = ["Ana", "Luis", "Marta", "Javier", "Lucía", "Carlos", "Elena", "Pablo", "Sara", "Diego", "Laura", "Andrés",
                          "Irene", "Sergio", "Nuria", "Raúl", "Clara", "Hugo", "Alba", "Marcos"]
    static let apellidos = ["García", "Martínez", "López", "Sánchez", "Pérez", "Gómez", "Ruiz", "Díaz", "Moreno", "Álvarez",
                            "Romero", "Navarro", "Torres", "Domínguez", "Vázquez", "Ramos", "Gil", "Serrano", "Blanco", "Molina"]
    static let temas = ["Robótica", "Programación", "Huerto escolar", "Teatro", "Ajedrez", "Ciencia", "Música", "Debate",
                        "Fotografía", "Matemáticas"]
    static let habilidades = [("Swift", "Programación"), ("Python", "Programación"), ("Arduino", "Electrónica"),
                              ("Scratch", "Programación"), ("Oratoria", "Comunicación"), ("Guitarra", "Música")]

    /// The `n`-th weekday (Monday–Friday) before `today`, 0 being the latest.
    static func weekday(before today: LocalDate, skipping n: Int) -> LocalDate {
        var day = today.adding(days: -1)
        while day.weekday >= 5 { day = day.adding(days: -1) }
        day = day.adding(days: -(n / 5) * 7)
        for _ in 0..<(n % 5) {
            day = day.adding(days: -1)
            while day.weekday >= 5 { day = day.adding(days: -1) }
        }
        return day
    }

    /// The seed itself, callable from tests: ids come back from the database in insertion order.
    static func seed(_ counts: Counts, on db: any Database, cipher: FieldCipher, today: LocalDate, progress: Bool) async throws {
        guard let sql = db as? any SQLDatabase else { return }
        let tag = String(UUID().uuidString.prefix(6)).lowercased()
        let hash = try PasswordHasher.hash(demoPassword)
        let now = Date()

        // Skills catalogue (shared; kept if already there).
        var skillIDs: [Int] = []
        for (nombre, categoria) in habilidades {
            if let existing = try await Conocimiento.query(on: db).filter(\.$nombreClave == nombre.lowercased()).first() {
                skillIDs.append(try existing.requireID())
            } else {
                let skill = Conocimiento(nombre: nombre, categoria: categoria)
                try await skill.create(on: db)
                skillIDs.append(try skill.requireID())
            }
        }

        var bar = ProgressBar(title: "mentores", total: counts.mentores)
        var mentorIDs: [Int] = []
        for first in stride(from: 0, to: counts.mentores, by: batch) {
            let range = first..<min(counts.mentores, first + batch)
            let users = sql.insert(into: Usuario.schema).columns("email", "email_clave", "password", "nombre", "apellidos", "rol",
                                                                  "activo", "token_version", "fecha_creacion")
            for index in range {
                let email = "m-\(tag)-\(index + 1)@demo.plataforma.test"
                users.values(SQLBind(email), SQLBind(email), SQLBind(hash), SQLBind(nombres[index % nombres.count]),
                             SQLBind(apellidos[(index / nombres.count) % apellidos.count]), SQLBind("mentor"), SQLBind(true),
                             SQLBind(0), SQLBind(now))
            }
            let userIDs = try await users.returning("id").all().map { try $0.decode(column: "id", as: Int.self) }
            let mentors = sql.insert(into: Mentor.schema).columns("usuario_id", "nombre", "apellidos", "email", "email_clave",
                                                                   "telefono_cifrado", "documento_cifrado", "biografia", "activo", "fecha_alta")
            for (offset, index) in range.enumerated() {
                let email = "m-\(tag)-\(index + 1)@demo.plataforma.test"
                let phone = try cipher.encrypt(String(format: "+34 6%02d %03d %03d", index % 100, (index / 100) % 1_000, index % 1_000))
                mentors.values(SQLBind(userIDs[offset]), SQLBind(nombres[index % nombres.count]),
                               SQLBind(apellidos[(index / nombres.count) % apellidos.count]), SQLBind(email), SQLBind(email),
                               SQLBind(phone), SQLBind(Optional<String>.none), SQLBind("Mentora de demostración."),
                               SQLBind(index % 17 != 0), SQLBind(today.adding(days: -(index % 700)).description))
            }
            mentorIDs += try await mentors.returning("id").all().map { try $0.decode(column: "id", as: Int.self) }
            let skills = sql.insert(into: MentorConocimiento.schema).columns("mentor_id", "conocimiento_id", "nivel")
            for id in mentorIDs.suffix(range.count) {
                skills.values(SQLBind(id), SQLBind(skillIDs[id % skillIDs.count]), SQLBind(Nivel.allCases[id % 4].rawValue))
            }
            try await skills.run()
            if progress { bar.update(mentorIDs.count) }
        }

        var projectIDs: [Int] = []
        for first in stride(from: 0, to: counts.proyectos, by: batch) {
            let range = first..<min(counts.proyectos, first + batch)
            let projects = sql.insert(into: Proyecto.schema).columns("nombre", "descripcion", "estado", "fecha_inicio", "fecha_fin",
                                                                      "horas_estimadas", "creado", "actualizado")
            for index in range {
                projects.values(SQLBind("\(temas[index % temas.count]) \(tag)-\(index + 1)"), SQLBind("Proyecto de demostración."),
                                SQLBind(index % 5 == 4 ? "finalizado" : "activo"), SQLBind(today.adding(days: -730).description),
                                SQLBind(Optional<String>.none), SQLBind(50_000), SQLBind(now), SQLBind(now))
            }
            projectIDs += try await projects.returning("id").all().map { try $0.decode(column: "id", as: Int.self) }
        }
        // Every mentor joins one project (round robin); each project gets two groups.
        for first in stride(from: 0, to: mentorIDs.count, by: batch) {
            let links = sql.insert(into: ProyectoMentor.schema).columns("proyecto_id", "mentor_id")
            for index in first..<min(mentorIDs.count, first + batch) {
                links.values(SQLBind(projectIDs[index % projectIDs.count]), SQLBind(mentorIDs[index]))
            }
            try await links.run()
        }
        for first in stride(from: 0, to: projectIDs.count, by: batch / 2) {
            let groups = sql.insert(into: Grupo.schema).columns("proyecto_id", "nombre", "nombre_clave", "descripcion", "num_estudiantes")
            for id in projectIDs[first..<min(projectIDs.count, first + batch / 2)] {
                for name in ["Grupo A", "Grupo B"] {
                    groups.values(SQLBind(id), SQLBind(name), SQLBind(name.lowercased()), SQLBind(""), SQLBind(20 + id % 10))
                }
            }
            try await groups.run()
        }

        // Records: mentor i works on its project, one-hour slots 08:00–18:00 on past weekdays,
        // never overlapping (slot and day advance together).
        bar = ProgressBar(title: "registros", total: counts.registros)
        let estados = ["aprobado", "aprobado", "aprobado", "pendiente", "rechazado"]
        var written = 0
        while written < counts.registros {
            let size = min(batch, counts.registros - written)
            let records = sql.insert(into: RegistroHoras.schema).columns(
                "mentor_id", "proyecto_id", "fecha", "hora_inicio", "hora_fin", "horas", "descripcion", "estado", "motivo_rechazo", "creado")
            for index in written..<(written + size) {
                let mentor = index % mentorIDs.count
                let round = index / mentorIDs.count
                let fecha = weekday(before: today, skipping: round / 10)
                let start = 480 + (round % 10) * 60
                let estado = estados[index % estados.count]
                records.values(SQLBind(mentorIDs[mentor]), SQLBind(projectIDs[mentor % projectIDs.count]), SQLBind(fecha.description),
                               SQLBind(start), SQLBind(start + 60), SQLBind(100), SQLBind("Sesión de mentoría"), SQLBind(estado),
                               SQLBind(estado == "rechazado" ? "Duplicado" : ""), SQLBind(now))
            }
            try await records.run()
            written += size
            if progress { bar.update(written) }
        }
    }
}
