//! A conversation's own parameters: temperature, the most output tokens a reply may take, and
//! reasoning effort, each offered only where the model's catalogue entry declares it
//! (`max_temperature`, `reasoning_efforts`; every model has a maximum output). Checked when
//! set; applied to whichever model the conversation then uses, as far as that model allows.

use serde::{Deserialize, Serialize};

use crate::ai::Model;

/// Unset fields leave the model's own defaults.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Parameters {
    /// Hundredths (0.7 is 70): whole numbers compare and store exactly.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub temperature: Option<u16>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_output_tokens: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reasoning_effort: Option<String>,
}

/// The form's fields, as typed.
#[derive(Debug, Default, Deserialize)]
pub struct ParametersForm {
    #[serde(default)]
    pub temperature: String,
    #[serde(default)]
    pub max_output_tokens: String,
    #[serde(default)]
    pub reasoning_effort: String,
}

/// The least output a thinking model may be given: its thinking budget and a token more.
fn least_output(model: &Model) -> u32 {
    model.thinking_budget.map_or(1, |budget| budget + 1)
}

impl Parameters {
    pub fn is_default(&self) -> bool {
        *self == Self::default()
    }

    /// The form checked against `model`: each field's problem, by field, if any.
    pub fn parse(
        form: &ParametersForm,
        model: &Model,
    ) -> Result<Self, Vec<(&'static str, String)>> {
        let mut errors = Vec::new();
        let mut parameters = Parameters::default();
        let temperature = form.temperature.trim();
        if !temperature.is_empty() {
            match model.max_temperature {
                None => errors.push((
                    "temperature",
                    format!("{} does not take a temperature.", model.name),
                )),
                Some(max) => match temperature.parse::<f64>() {
                    Ok(t) if t.is_finite() && (0.0..=f64::from(max)).contains(&t) => {
                        parameters.temperature = Some((t * 100.0).round() as u16);
                    }
                    _ => errors.push((
                        "temperature",
                        format!("Enter a temperature from 0 to {max}."),
                    )),
                },
            }
        }
        let tokens = form.max_output_tokens.trim();
        if !tokens.is_empty() {
            let (least, most) = (least_output(model), model.max_output_tokens);
            match tokens.parse::<u32>() {
                Ok(n) if (least..=most).contains(&n) => parameters.max_output_tokens = Some(n),
                _ => errors.push((
                    "max_output_tokens",
                    format!("Enter a whole number of tokens from {least} to {most}."),
                )),
            }
        }
        let effort = form.reasoning_effort.trim();
        if !effort.is_empty() {
            if model.reasoning_efforts.iter().any(|e| e == effort) {
                parameters.reasoning_effort = Some(effort.to_string());
            } else if model.reasoning_efforts.is_empty() {
                errors.push((
                    "reasoning_effort",
                    format!("{} does not take a reasoning effort.", model.name),
                ));
            } else {
                errors.push((
                    "reasoning_effort",
                    format!("Choose one of: {}.", model.reasoning_efforts.join(", ")),
                ));
            }
        }
        if errors.is_empty() {
            Ok(parameters)
        } else {
            Err(errors)
        }
    }

    /// `model` as this conversation uses it: its output limit and reasoning effort replaced
    /// where set and allowed (a conversation that changed model keeps what still fits).
    pub fn apply(&self, model: &Model) -> Model {
        let mut model = model.clone();
        if let Some(n) = self.max_output_tokens {
            model.max_output_tokens = n.clamp(least_output(&model), model.max_output_tokens);
        }
        if let Some(effort) = &self.reasoning_effort
            && model.reasoning_efforts.contains(effort)
        {
            model.reasoning_effort = Some(effort.clone());
        }
        model
    }

    /// The temperature to ask `model` for, in hundredths, if any (within what it takes).
    pub fn temperature_for(&self, model: &Model) -> Option<u16> {
        let max = (model.max_temperature? * 100.0).round() as u16;
        self.temperature.map(|t| t.min(max))
    }

    /// The temperature as the form shows it ("0.7").
    pub fn temperature_text(&self) -> Option<String> {
        self.temperature.map(|t| {
            let text = format!("{:.2}", f64::from(t) / 100.0);
            text.trim_end_matches('0').trim_end_matches('.').to_string()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ai::Catalogue;

    fn model() -> Model {
        let mut model = Catalogue::embedded().default_model().clone();
        model.name = "Test".into();
        model.max_output_tokens = 4_000;
        model.max_temperature = Some(2.0);
        model.reasoning_efforts = vec!["low".into(), "high".into()];
        model
    }

    fn form(t: &str, n: &str, e: &str) -> ParametersForm {
        ParametersForm {
            temperature: t.into(),
            max_output_tokens: n.into(),
            reasoning_effort: e.into(),
        }
    }

    #[test]
    fn values_within_the_models_declarations_are_taken() {
        let p = Parameters::parse(&form("0.7", "1000", "high"), &model()).unwrap();
        assert_eq!(p.temperature, Some(70));
        assert_eq!(p.temperature_text().as_deref(), Some("0.7"));
        assert_eq!(p.max_output_tokens, Some(1000));
        let applied = p.apply(&model());
        assert_eq!(applied.max_output_tokens, 1000);
        assert_eq!(applied.reasoning_effort.as_deref(), Some("high"));
        assert_eq!(p.temperature_for(&model()), Some(70));
        assert!(
            Parameters::parse(&form("", "", ""), &model())
                .unwrap()
                .is_default()
        );
    }

    #[test]
    fn out_of_range_or_undeclared_values_are_refused_by_field() {
        let errors = Parameters::parse(&form("2.5", "0", "extreme"), &model()).unwrap_err();
        let fields: Vec<_> = errors.iter().map(|(f, _)| *f).collect();
        assert_eq!(
            fields,
            ["temperature", "max_output_tokens", "reasoning_effort"]
        );
        assert!(Parameters::parse(&form("NaN", "", ""), &model()).is_err());
        assert!(Parameters::parse(&form("", "4001", ""), &model()).is_err());
        let mut plain = model();
        plain.max_temperature = None;
        plain.reasoning_efforts.clear();
        let errors = Parameters::parse(&form("0.5", "", "low"), &plain).unwrap_err();
        assert!(
            errors[0].1.contains("does not take a temperature"),
            "{errors:?}"
        );
        assert!(
            errors[1].1.contains("does not take a reasoning effort"),
            "{errors:?}"
        );
    }

    #[test]
    fn another_model_keeps_only_what_fits_it() {
        let p = Parameters::parse(&form("1.5", "3000", "high"), &model()).unwrap();
        let mut small = model();
        small.max_output_tokens = 1_000;
        small.max_temperature = Some(1.0);
        small.reasoning_efforts = vec!["low".into()];
        small.reasoning_effort = None;
        let applied = p.apply(&small);
        assert_eq!(applied.max_output_tokens, 1_000);
        assert_eq!(applied.reasoning_effort, None);
        assert_eq!(p.temperature_for(&small), Some(100));
        small.max_temperature = None;
        assert_eq!(p.temperature_for(&small), None);
    }

    #[test]
    fn a_thinking_model_keeps_room_for_its_thinking() {
        let mut thinker = model();
        thinker.thinking_budget = Some(2_000);
        assert!(Parameters::parse(&form("", "1500", ""), &thinker).is_err());
        assert!(Parameters::parse(&form("", "2001", ""), &thinker).is_ok());
    }
}
