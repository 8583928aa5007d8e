//! Counts as a person says them: "1 resource", "2 resources", "1 pass", "3 passes". Every
//! line that counts something goes through [`count`], so none reads "1 changes".

/// `n` and the noun, singular for one and plural otherwise: `count(1, "change")` is
/// "1 change", `count(0, "change")` "0 changes".
pub fn count(n: usize, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {}", plural(noun))
    }
}

/// "1 resource is left", "2 resources are left".
pub fn left(n: usize, noun: &str) -> String {
    format!(
        "{} {} left",
        count(n, noun),
        if n == 1 { "is" } else { "are" }
    )
}

/// The plural of the English nouns rehearsal counts (regular ones: no "children" here).
pub fn plural(noun: &str) -> String {
    let consonant_y = noun.len() > 1
        && noun.ends_with('y')
        && !noun[..noun.len() - 1].ends_with(['a', 'e', 'i', 'o', 'u']);
    if consonant_y {
        format!("{}ies", &noun[..noun.len() - 1])
    } else if noun.ends_with(['s', 'x']) || noun.ends_with("ch") || noun.ends_with("sh") {
        format!("{noun}es")
    } else {
        format!("{noun}s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_is_singular_and_every_other_number_plural() {
        assert_eq!(count(1, "change"), "1 change");
        assert_eq!(count(0, "change"), "0 changes");
        assert_eq!(count(2, "resource"), "2 resources");
        assert_eq!(count(1, "pass"), "1 pass");
        assert_eq!(count(3, "pass"), "3 passes");
        assert_eq!(count(2, "copy"), "2 copies");
        assert_eq!(count(2, "day"), "2 days");
        assert_eq!(count(4, "earlier line"), "4 earlier lines");
        assert_eq!(left(1, "resource"), "1 resource is left");
        assert_eq!(left(2, "resource"), "2 resources are left");
    }
}
