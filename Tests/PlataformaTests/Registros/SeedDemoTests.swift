import Fluent
import Foundation
import Testing
import Vapor
@testable import Plataforma

@Suite("seed-demo")
struct SeedDemoTests {
    @Test("creates the asked counts, with records that obey the rules (assigned, past weekdays, no overlaps)")
    func seed() async throws {
        try await withApp { t in
            let today = LocalDate("2026-11-25")!  // a Wednesday
            try await SeedDemoCommand.seed(.init(mentores: 7, proyectos: 3, registros: 500), on: t.db,
                                           cipher: t.app.fieldCipher, today: today, progress: false)
            #expect(try await Mentor.query(on: t.db).count() == 7)
            #expect(try await Proyecto.query(on: t.db).count() == 3)
            #expect(try await Grupo.query(on: t.db).count() == 6)
            let records = try await RegistroHoras.query(on: t.db).all()
            #expect(records.count == 500)
            let links = Set(try await ProyectoMentor.query(on: t.db).all().map { "\($0.$proyecto.id)-\($0.$mentor.id)" })
            #expect(records.allSatisfy { links.contains("\($0.$proyecto.id)-\($0.$mentor.id)") })
            #expect(records.allSatisfy { LocalDate($0.fecha).map { $0 < today && $0.weekday < 5 } == true })
            let slots = records.map { "\($0.$mentor.id)-\($0.fecha)-\($0.horaInicio)" }
            #expect(Set(slots).count == slots.count)
            // The demo accounts log in with the documented password.
            let mentor = try #require(try await Mentor.query(on: t.db).first())
            let user = try #require(try await Usuario.find(mentor.$usuario.id, on: t.db))
            let login = try await t.send(.POST, "/api/token/", json: ["email": .string(user.email), "password": .string(SeedDemoCommand.demoPassword)])
            #expect(login.status == .ok)
            #expect(try t.app.fieldCipher.decrypt(mentor.telefonoCifrado)?.hasPrefix("+34 6") == true)
        }
    }

    @Test("weekday(before:skipping:) walks back over weekends")
    func weekdays() {
        let monday = LocalDate("2026-11-30")!
        #expect(SeedDemoCommand.weekday(before: monday, skipping: 0).description == "2026-11-27")
        #expect(SeedDemoCommand.weekday(before: monday, skipping: 1).description == "2026-11-26")
        #expect(SeedDemoCommand.weekday(before: monday, skipping: 5).description == "2026-11-20")
        #expect(SeedDemoCommand.weekday(before: monday, skipping: 7).description == "2026-11-18")
    }
}
