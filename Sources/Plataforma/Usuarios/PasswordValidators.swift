import Foundation

/// Django's default password validators (AUTH_PASSWORD_VALIDATORS), with its Spanish messages.
public enum PasswordValidators {
    static let minimumLength = 8
    static let maximumSimilarity = 0.7

    /// Returns every failing message (empty when the password is acceptable), in Django's order:
    /// UserAttributeSimilarity, MinimumLength(8), CommonPassword, NumericPassword.
    public static func validate(_ password: String, email: String?, nombre: String?, apellidos: String?) -> [String] {
        let scalars = Array(password.unicodeScalars)
        // Django's default attribute order (username, first_name, last_name, email); we have no username.
        let attributes: [(value: String?, verboseName: String)] = [
            (nombre, "nombre"),
            (apellidos, "apellidos"),
            (email, "correo electrónico"),
        ]
        var messages: [String] = []
        if let verboseName = firstSimilarAttribute(scalars, attributes) {
            messages.append("La contraseña es demasiado similar a la de \(verboseName).")
        }
        if scalars.count < minimumLength {
            messages.append(tooShortMessage(minimumLength))
        }
        if isCommon(scalars) {
            messages.append("Esta contraseña es demasiado común.")
        }
        if PythonText.isDigit(scalars) {
            messages.append("Esta contraseña es completamente numérica.")
        }
        return messages
    }

    /// UserAttributeSimilarityValidator: Django raises on the first similar attribute, so only one is named.
    static func firstSimilarAttribute(
        _ password: [Unicode.Scalar], _ attributes: [(value: String?, verboseName: String)]
    ) -> String? {
        let lowered = PythonText.lower(password)
        for attribute in attributes {
            guard let value = attribute.value, !value.isEmpty else { continue }
            let valueLower = PythonText.lower(Array(value.unicodeScalars))
            for part in PythonText.splitOnNonWord(valueLower) + [valueLower] {
                if exceedsMaximumLengthRatio(passwordLength: lowered.count, valueLength: part.count) {
                    continue
                }
                // Django 4.2 decides on quick_ratio() alone (an upper bound of ratio()).
                if SequenceMatcher(a: lowered, b: part).quickRatio() >= maximumSimilarity {
                    return attribute.verboseName
                }
            }
        }
        return nil
    }

    /// Django's shortcut: a value 10× shorter than the password can never reach the similarity bound.
    static func exceedsMaximumLengthRatio(passwordLength: Int, valueLength: Int) -> Bool {
        let lengthBoundSimilarity = maximumSimilarity / 2 * Double(passwordLength)
        return passwordLength >= 10 * valueLength && Double(valueLength) < lengthBoundSimilarity
    }

    /// Django compares `password.lower().strip()` with its list, code point by code point.
    static func isCommon(_ password: [Unicode.Scalar]) -> Bool {
        var view = String.UnicodeScalarView()
        view.append(contentsOf: PythonText.strip(PythonText.lower(password)))
        let candidate = String(view)
        // Swift's String equality is canonical equivalence; Python's is exact, so confirm the scalars.
        guard let index = CommonPasswords.all.firstIndex(of: candidate) else { return false }
        return CommonPasswords.all[index].unicodeScalars.elementsEqual(candidate.unicodeScalars)
    }

    /// Spanish plural forms from Django's es catalogue: n == 1 ? 0 : (n != 0 && n % 1000000 == 0) ? 1 : 2.
    static func tooShortMessage(_ minimum: Int) -> String {
        let noun = minimum == 1 ? "caracter" : "caracteres"
        return "Esta contraseña es demasiado corta. Debe contener al menos \(minimum) \(noun)."
    }
}

/// The few Python `str` semantics the validators rely on, over Unicode scalars (Python's code points).
enum PythonText {
    /// `str.lower()`: full lowercase mappings plus Python's Final_Sigma rule, which Swift's `lowercased()` lacks.
    static func lower(_ text: [Unicode.Scalar]) -> [Unicode.Scalar] {
        var result: [Unicode.Scalar] = []
        result.reserveCapacity(text.count)
        for (index, scalar) in text.enumerated() {
            if scalar.value == 0x3A3 {
                result.append(isFinalSigma(text, at: index) ? "\u{3C2}" : "\u{3C3}")
            } else {
                result.append(contentsOf: scalar.properties.lowercaseMapping.unicodeScalars)
            }
        }
        return result
    }

    /// CPython's handle_capital_sigma: preceded by a cased letter and not followed by one (ignoring case-ignorables).
    private static func isFinalSigma(_ text: [Unicode.Scalar], at index: Int) -> Bool {
        var before = index - 1
        while before >= 0, text[before].properties.isCaseIgnorable {
            before -= 1
        }
        guard before >= 0, text[before].properties.isCased else { return false }
        var after = index + 1
        while after < text.count, text[after].properties.isCaseIgnorable {
            after += 1
        }
        return after == text.count || !text[after].properties.isCased
    }

    /// `str.strip()`: Python's whitespace is Unicode White_Space plus the separators U+001C...U+001F.
    static func strip(_ text: [Unicode.Scalar]) -> ArraySlice<Unicode.Scalar> {
        guard let first = text.firstIndex(where: { !isSpace($0) }),
              let last = text.lastIndex(where: { !isSpace($0) })
        else { return [] }
        return text[first...last]
    }

    static func isSpace(_ scalar: Unicode.Scalar) -> Bool {
        (0x1C...0x1F).contains(scalar.value) || scalar.properties.isWhitespace
    }

    /// `str.isdigit()`: non-empty and every code point has Numeric_Type Decimal or Digit (so "²" counts).
    static func isDigit(_ text: [Unicode.Scalar]) -> Bool {
        !text.isEmpty && text.allSatisfy { $0.properties.numericType == .decimal || $0.properties.numericType == .digit }
    }

    /// `re.split(r"\W+", text)`, keeping the empty pieces Python yields at leading or trailing separators.
    static func splitOnNonWord(_ text: [Unicode.Scalar]) -> [[Unicode.Scalar]] {
        var parts: [[Unicode.Scalar]] = [[]]
        var inSeparator = false
        for scalar in text {
            if isWordCharacter(scalar) {
                if inSeparator {
                    parts.append([])
                    inSeparator = false
                }
                parts[parts.count - 1].append(scalar)
            } else {
                inSeparator = true
            }
        }
        if inSeparator {
            parts.append([])
        }
        return parts
    }

    /// Python's Unicode `\w`: letters (L*), anything with a numeric value, and "_".
    static func isWordCharacter(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.properties.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter:
            return true
        default:
            return scalar == "_" || scalar.properties.numericType != nil
        }
    }
}

/// Python's `difflib.SequenceMatcher(None, a, b)` (autojunk on) over code points.
struct SequenceMatcher {
    let a: [Unicode.Scalar]
    let b: [Unicode.Scalar]
    /// Positions of each element of `b`, minus "popular" elements (autojunk), as difflib's b2j.
    private let b2j: [Unicode.Scalar: [Int]]

    init(a: [Unicode.Scalar], b: [Unicode.Scalar]) {
        self.a = a
        self.b = b
        var b2j: [Unicode.Scalar: [Int]] = [:]
        for (index, element) in b.enumerated() {
            b2j[element, default: []].append(index)
        }
        // Autojunk: in a b of 200+ elements, anything filling more than 1% of it is ignored for matching.
        if b.count >= 200 {
            let limit = b.count / 100 + 1
            b2j = b2j.filter { $0.value.count <= limit }
        }
        self.b2j = b2j
    }

    /// `quick_ratio()`: multiset intersection size, an upper bound on `ratio()`.
    func quickRatio() -> Double {
        var available: [Unicode.Scalar: Int] = [:]
        for element in b {
            available[element, default: 0] += 1
        }
        var matches = 0
        for element in a {
            let count = available[element, default: 0]
            available[element] = count - 1
            if count > 0 {
                matches += 1
            }
        }
        return Self.calculateRatio(matches: matches, length: a.count + b.count)
    }

    /// `ratio()`: 2·M / T with M the total size of the matching blocks; Django 4.2's validator doesn't call it.
    func ratio() -> Double {
        let matches = matchingBlocks().reduce(0) { $0 + $1.size }
        return Self.calculateRatio(matches: matches, length: a.count + b.count)
    }

    /// `get_matching_blocks()`, including the final (len(a), len(b), 0) sentinel.
    func matchingBlocks() -> [(a: Int, b: Int, size: Int)] {
        var queue = [(aLow: 0, aHigh: a.count, bLow: 0, bHigh: b.count)]
        var blocks: [(a: Int, b: Int, size: Int)] = []
        while let range = queue.popLast() {
            let match = findLongestMatch(aLow: range.aLow, aHigh: range.aHigh, bLow: range.bLow, bHigh: range.bHigh)
            guard match.size > 0 else { continue }
            blocks.append(match)
            if range.aLow < match.a && range.bLow < match.b {
                queue.append((range.aLow, match.a, range.bLow, match.b))
            }
            if match.a + match.size < range.aHigh && match.b + match.size < range.bHigh {
                queue.append((match.a + match.size, range.aHigh, match.b + match.size, range.bHigh))
            }
        }
        blocks.sort { ($0.a, $0.b, $0.size) < ($1.a, $1.b, $1.size) }
        // Collapse adjacent blocks, as difflib does.
        var collapsed: [(a: Int, b: Int, size: Int)] = []
        var current = (a: 0, b: 0, size: 0)
        for block in blocks {
            if current.a + current.size == block.a && current.b + current.size == block.b {
                current.size += block.size
            } else {
                if current.size > 0 {
                    collapsed.append(current)
                }
                current = block
            }
        }
        if current.size > 0 {
            collapsed.append(current)
        }
        collapsed.append((a.count, b.count, 0))
        return collapsed
    }

    /// `find_longest_match()`: earliest longest block in a, then in b; extended over popular elements.
    func findLongestMatch(aLow: Int, aHigh: Int, bLow: Int, bHigh: Int) -> (a: Int, b: Int, size: Int) {
        var bestI = aLow
        var bestJ = bLow
        var bestSize = 0
        var j2len: [Int: Int] = [:]
        for i in aLow..<aHigh {
            var newJ2len: [Int: Int] = [:]
            for j in b2j[a[i], default: []] {
                if j < bLow {
                    continue
                }
                if j >= bHigh {
                    break
                }
                let k = j2len[j - 1, default: 0] + 1
                newJ2len[j] = k
                if k > bestSize {
                    bestI = i - k + 1
                    bestJ = j - k + 1
                    bestSize = k
                }
            }
            j2len = newJ2len
        }
        // Popular elements aren't junk (isjunk is None), so the block grows over equal ones on both sides.
        while bestI > aLow && bestJ > bLow && a[bestI - 1] == b[bestJ - 1] {
            bestI -= 1
            bestJ -= 1
            bestSize += 1
        }
        while bestI + bestSize < aHigh && bestJ + bestSize < bHigh && a[bestI + bestSize] == b[bestJ + bestSize] {
            bestSize += 1
        }
        return (bestI, bestJ, bestSize)
    }

    /// difflib's _calculate_ratio: 1.0 when both sequences are empty.
    private static func calculateRatio(matches: Int, length: Int) -> Double {
        length > 0 ? 2.0 * Double(matches) / Double(length) : 1.0
    }
}
